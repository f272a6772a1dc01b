import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bins } from '../../core/histogram.js';
import { PYTHON, REPO } from './paths.js';

export interface ReferenceSample {
  category: string;
  sumw: number[];
  sumw2: number[];
  entries: number[];
  nRead: number;
  nSelected: number;
  /** Events passing each of the notebook's cuts and all before it. */
  cutflow: number[];
  /** The August 2024 revision's four lepton-pT histograms. */
  more?: { sumw: number[]; sumw2: number[]; entries: number[] }[];
}

/** Runs the uproot reference (reference/hzz_reference.py) at the luminosity our run used, and returns its per-sample histograms. */
export function runReference(args: { catalog: string; data: string; samples?: string[]; lumi: number; extra?: string[] }): Record<string, ReferenceSample> {
  const dir = mkdtempSync(join(tmpdir(), 'hzz-ref-'));
  try {
    const out = join(dir, 'ref.json');
    execFileSync(PYTHON, [join(REPO, 'reference/hzz_reference.py'), '--catalog', args.catalog, '--data', args.data, ...(args.samples ? ['--samples', args.samples.join(',')] : []), '--lumi', String(args.lumi), ...(args.extra ?? []), '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
    return (JSON.parse(readFileSync(out, 'utf8')) as { samples: Record<string, ReferenceSample> }).samples;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Largest relative difference over the bins (bins where both are 0 count as equal). */
export function maxRelativeDifference(a: number[], b: number[]): number {
  let worst = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x === y) return;
    worst = Math.max(worst, Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y)));
  });
  return worst;
}

/** One histogram's bins against the reference's: counts exact, sums to 1e-6 relative. */
export function sameBins(h: Bins, r: Bins, what: string): void {
  assert.deepEqual(h.entries, r.entries, `${what}: selected events per bin`);
  assert.ok(maxRelativeDifference(h.sumw, r.sumw) < 1e-6, `${what}: sum of weights differs by ${maxRelativeDifference(h.sumw, r.sumw)}`);
  assert.ok(maxRelativeDifference(h.sumw2, r.sumw2) < 1e-6, `${what}: sum of squared weights differs by ${maxRelativeDifference(h.sumw2, r.sumw2)}`);
}

/** A sample of our run against the reference's: events read, selected and past each cut, then every histogram. */
export function sameAsReference(h: Bins & { nRead: number; nSelected: number; cutflow: number[]; more?: Bins[] } | undefined, r: ReferenceSample | undefined, sample: string): void {
  assert.ok(h && r, `${sample}: in both runs`);
  assert.equal(h.nRead, r.nRead, `${sample}: events read`);
  assert.equal(h.nSelected, r.nSelected, `${sample}: events selected`);
  assert.deepEqual(h.cutflow, r.cutflow, `${sample}: events passing each cut`);
  sameBins(h, r, `${sample} m4l`);
  assert.equal(h.more?.length ?? 0, r.more?.length ?? 0, `${sample}: as many further histograms`);
  r.more?.forEach((m, i) => sameBins(h.more![i]!, m, `${sample} lepton ${i} pT`));
}
