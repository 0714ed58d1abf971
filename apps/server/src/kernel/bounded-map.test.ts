import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setBounded } from './bounded-map.ts';

test('a full bounded map drops its oldest entry, and a key set again becomes the newest', () => {
  const entries = new Map<string, number>();
  for (const [key, value] of [['a', 1], ['b', 2], ['c', 3]] as const) setBounded(entries, key, value, 3);
  setBounded(entries, 'a', 10, 3);
  assert.deepEqual([...entries], [['b', 2], ['c', 3], ['a', 10]]);
  setBounded(entries, 'd', 4, 3);
  assert.deepEqual([...entries], [['c', 3], ['a', 10], ['d', 4]]);
});
