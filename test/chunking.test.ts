import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MergedHistograms } from '../core/merge.js';
import { runLocal } from '../local/run-local.js';
import { SHARED_DATA } from './support/paths.js';
import { maxRelativeDifference } from './support/reference.js';

/**
 * A chunk is any slice of any file: the result must not depend on how the files are cut.
 * Counts must be exactly equal; sums of weights may differ only by float64 rounding of the
 * different grouping of additions (1e-12 relative; the physics tolerance is 1e-6).
 */
function assertSameHistograms(a: MergedHistograms, b: MergedHistograms, label: string): void {
  for (const [name, h] of a.samples) {
    const g = b.samples.get(name)!;
    assert.equal(g.nRead, h.nRead, `${label} ${name} nRead`);
    assert.equal(g.nSelected, h.nSelected, `${label} ${name} nSelected`);
    assert.deepEqual(g.entries, h.entries, `${label} ${name} entries`);
    assert.ok(maxRelativeDifference(g.sumw, h.sumw) < 1e-12, `${label} ${name} sumw`);
    assert.ok(maxRelativeDifference(g.sumw2, h.sumw2) < 1e-12, `${label} ${name} sumw2`);
  }
}

test('chunk sizes 1, 7, 1000 and whole-file give identical histograms', async () => {
  const samples = ['data', 'Ztt'];
  const whole = await runLocal({ data: SHARED_DATA, samples, chunkSize: 1_000_000, parallel: 2 });
  assert.equal(whole.results.plan.chunks, 7, 'one chunk per file');
  for (const size of [1, 7, 1000]) {
    const r = await runLocal({ data: SHARED_DATA, samples, chunkSize: size, parallel: 2 });
    assert.deepEqual(r.failures, []);
    if (size === 1) assert.equal(r.results.plan.chunks, 3445, 'one chunk per event');
    assertSameHistograms(whole.results, r.results, `chunk size ${size}`);
  }
});
