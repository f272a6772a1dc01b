import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkRetryRule } from '../core/contracts/chunk-retry.js';

// One rule decides for hzz run, hzz run --broker and the operator whether a failed chunk is tried again.

test('bad input is never retried; a transient failure or a crash is, up to the rule\'s retries', () => {
  const rule = new ChunkRetryRule(2);
  assert.equal(rule.delayAfter(0, 'bad-input'), undefined);
  assert.equal(rule.delayAfter(0, 'transient'), 0, 'without a wait, at once');
  assert.equal(rule.delayAfter(1, 'crash'), 0);
  assert.equal(rule.delayAfter(2, 'transient'), undefined, 'the third attempt was the last');
  assert.equal(new ChunkRetryRule(0).delayAfter(0, 'transient'), undefined);
});

test('the wait doubles per attempt up to its ceiling; without jitter it is exact, with jitter between half and all of it', () => {
  const exact = new ChunkRetryRule(10, { initialMs: 1_000, maxMs: 5_000, jitter: false });
  assert.deepEqual([0, 1, 2, 3, 4].map((n) => exact.delayAfter(n, 'crash')), [1_000, 2_000, 4_000, 5_000, 5_000]);
  const jittered = new ChunkRetryRule(10, { initialMs: 400, maxMs: 5_000, jitter: true });
  assert.equal(jittered.delayAfter(1, 'transient', () => 0), 400);
  assert.equal(jittered.delayAfter(1, 'transient', () => 1), 800);
});
