import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findJsonFault, findUrlFault } from './input.ts';

const NUL = 'must not contain a NUL character (U+0000)';
const LONE = 'must not contain a lone surrogate (an unpaired \\uD800-\\uDFFF escape)';

describe('input the API refuses (CON-SEC-009)', () => {
  test('well-formed JSON without NUL, lone surrogates or duplicate keys passes', () => {
    for (const text of [
      '{}',
      '[]',
      '"plain"',
      '12.5e3',
      'null',
      '{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}',
      // The same key in sibling objects, and escapes that spell ordinary characters.
      '[{"id":1},{"id":2}]',
      '{"quote":"say \\"hi\\"","backslash":"C:\\\\","tab":"\\t","slash":"a\\/b"}',
      // A surrogate pair, escaped or not, is one character.
      '{"emoji":"\\ud83d\\ude00","raw":"😀"}',
      '{"key with \\"quotes\\"":true,"key with \\"quotes\\" too":true}',
      ' { "spaced" : [ 1 , "two" , { "three" : 3 } ] } ',
    ]) {
      assert.equal(findJsonFault(text), null, text);
    }
  });

  test('a NUL or a lone surrogate in any string is found with its path', () => {
    const cases: [string, string, string][] = [
      ['{"name":"a\\u0000b"}', 'body/name', NUL],
      ['{"outer":{"list":["ok","\\u0000"]}}', 'body/outer/list/1', NUL],
      ['[1,2,{"x":"\\ud800"}]', 'body/2/x', LONE],
      ['{"low":"\\udc00 alone"}', 'body/low', LONE],
      ['{"reversed":"\\ude00\\ud83d"}', 'body/reversed', LONE],
      ['{"high at the end":"x\\ud83d"}', 'body/high at the end', LONE],
      ['"\\u0000"', 'body', NUL],
      // JSON Pointer escapes in the path (RFC 6901).
      ['{"a/b":{"c~d":"\\u0000"}}', 'body/a~1b/c~0d', NUL],
    ];
    for (const [text, path, message] of cases) assert.deepEqual(findJsonFault(text), { path, message }, text);
  });

  test('keys are checked too: NUL, lone surrogates, and duplicates however they are spelled', () => {
    assert.deepEqual(findJsonFault('{"a":{"b\\u0000":1}}'), { path: 'body/a', message: `has a key that ${NUL}` });
    assert.deepEqual(findJsonFault('{"\\ud800":1}'), { path: 'body', message: `has a key that ${LONE}` });
    const duplicate = 'appears twice in its object (duplicate key)';
    assert.deepEqual(findJsonFault('{"name":"a","name":"b"}'), { path: 'body/name', message: duplicate });
    assert.deepEqual(findJsonFault('{"name":"a","n\\u0061me":"b"}'), { path: 'body/name', message: duplicate });
    assert.deepEqual(findJsonFault('{"list":[{"id":1,"x":{},"id":2}]}'), { path: 'body/list/0/id', message: duplicate });
    // A key's value equal to a key is not a duplicate.
    assert.equal(findJsonFault('{"name":"name","other":"name"}'), null);
  });

  test('URL parameters: NUL after percent-decoding and bytes that are not UTF-8 are found', () => {
    assert.equal(findUrlFault('/v1/x?search=caf%C3%A9&limit=10&flag&a+b=c+d', { id: 'abc' }), null);
    assert.deepEqual(findUrlFault('/v1/x?search=a%00b', {}), { path: 'querystring/search', message: NUL });
    assert.deepEqual(findUrlFault('/v1/x?na%00me=1', {}), { path: 'querystring', message: `has a parameter name that ${NUL}` });
    for (const bad of ['%ED%A0%80', '%FF', '%E2%82', '%', '%zz']) {
      assert.deepEqual(findUrlFault(`/v1/x?search=${bad}`, {}), { path: 'querystring', message: 'is not valid percent-encoded UTF-8' }, bad);
    }
    assert.deepEqual(findUrlFault('/v1/x/a%00b', { slug: 'a\u0000b' }), { path: 'params/slug', message: NUL });
  });
});
