import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitIntoChunks } from '../core/chunk-plan.js';

const files = [
  { sample: 'a', category: 'data', url: 'A', entries: 10 },
  { sample: 'b', category: 'data', url: 'B', entries: 0 },
  { sample: 'c', category: 'mc', url: 'C', entries: 3 },
];

test('files are cut into consecutive ranges covering every entry once, indexed in order', () => {
  const chunks = splitIntoChunks(files, 4);
  assert.deepEqual(chunks.map((c) => [c.index, c.sample, c.entryStart, c.entryStop]), [
    [0, 'a', 0, 4], [1, 'a', 4, 8], [2, 'a', 8, 10], [3, 'c', 0, 3],
  ]);
  for (const size of [1, 2, 3, 7, 1000]) {
    const cs = splitIntoChunks(files, size);
    assert.equal(cs.reduce((n, c) => n + c.entryStop - c.entryStart, 0), 13);
    assert.ok(cs.every((c) => c.entryStop - c.entryStart <= size && c.entryStop > c.entryStart));
  }
});

test('in a file of even clusters, chunks are whole clusters: at most the chunk size, at least one cluster', () => {
  const clustered = [{ sample: 'a', category: 'mc', url: 'A', entries: 10, clusterEntries: 3 }];
  const ranges = (size: number) => splitIntoChunks(clustered, size).map((c) => [c.entryStart, c.entryStop]);
  assert.deepEqual(ranges(7), [[0, 6], [6, 10]]);
  assert.deepEqual(ranges(2), [[0, 3], [3, 6], [6, 9], [9, 10]]);
  assert.deepEqual(ranges(100), [[0, 10]]);
});

test('the plan is deterministic and rejects a non-positive chunk size', () => {
  assert.deepEqual(splitIntoChunks(files, 3), splitIntoChunks(files, 3));
  assert.throws(() => splitIntoChunks(files, 0), /positive whole number/);
  assert.throws(() => splitIntoChunks(files, -5), /positive whole number/);
  assert.throws(() => splitIntoChunks(files, 2.5), /positive whole number/);
});
