import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { csvCell, csvRow, csvStream } from './csv.ts';

describe('CSV writer', () => {
  test('quotes per RFC 4180: comma, quote and line breaks quoted, quotes doubled', () => {
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('two\nlines'), '"two\nlines"');
    assert.equal(csvCell('cr\r'), '"cr\r"');
    assert.equal(csvRow(['a', 'b,c', null]), 'a,"b,c",\r\n');
  });

  test('neutralises formula injection: text starting with = + - @ tab or CR gets a leading quote', () => {
    for (const formula of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '=HYPERLINK("http://evil","x")']) {
      const cell = csvCell(formula);
      const unquoted = cell.startsWith('"') ? cell.slice(1, -1).replaceAll('""', '"') : cell;
      assert.equal(unquoted, `'${formula}`, `${JSON.stringify(formula)} -> ${cell}`);
    }
    assert.equal(csvCell('\r=1'), `"'\r=1"`);
    // Inside the text the characters are harmless.
    assert.equal(csvCell('a=b'), 'a=b');
    assert.equal(csvCell("'=already"), "'=already");
  });

  test('numbers, booleans and dates are written as they are; objects as JSON (neutralised too)', () => {
    assert.equal(csvCell(-5), '-5');
    assert.equal(csvCell(true), 'true');
    assert.equal(csvCell(new Date('2026-01-02T03:04:05.678Z')), '2026-01-02T03:04:05.678Z');
    assert.equal(csvCell({ a: 1, b: 'x' }), '"{""a"":1,""b"":""x""}"');
    assert.equal(csvCell(undefined), '');
  });

  test('a stream yields the header, then each page in order, pulling pages only as it is read', async () => {
    let pulled = 0;
    async function* pages() {
      for (let page = 0; page < 3; page++) {
        pulled++;
        yield [[`p${page}`, page], [`q${page}`, '=x']];
      }
    }
    const stream = csvStream(['name', 'n'], pages());
    assert.equal(pulled, 0, 'nothing is read before the consumer asks');
    let text = '';
    for await (const chunk of stream) text += String(chunk);
    assert.equal(text, "name,n\r\np0,0\r\nq0,'=x\r\np1,1\r\nq1,'=x\r\np2,2\r\nq2,'=x\r\n");
    assert.equal(pulled, 3);
  });
});
