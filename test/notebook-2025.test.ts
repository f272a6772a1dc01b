import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLI, PYTHON, REPO, SHARED_DATA } from './support/paths.js';
import { runReference, sameAsReference, type ReferenceSample } from './support/reference.js';

/**
 * The 2025 notebook, exactly: `hzz run --analysis atlas-2025e-13tev-beta` against the uproot
 * implementation of that notebook (reference/hzz_reference.py --notebook 2025), bin for bin, on the
 * real data15 period D file and on 2025-schema MC stand-ins written from its events
 * (reference/make_2025_standins.py), whose MC branches feed the notebook's in-file weight.
 */
const CATALOG_2025 = join(REPO, 'catalogues/atlas-2025e-exactly4lep-data15D.json');
const CUTS = ['trigger', 'trigger-matched lepton', 'leading lepton pT', 'sub-leading lepton pT', 'third-leading lepton pT', 'lepton ID and isolation', 'lepton type', 'lepton charge'];

/** The stand-ins and a link to the real data file, made once per machine in .cache/ (outside git). */
function standIns2025Dir(): string {
  const dir = join(REPO, '.cache/test-data/standins-2025-v1');
  if (!existsSync(dir)) {
    // Written aside and renamed: test files that start together never see half of it.
    mkdirSync(join(REPO, '.cache/test-data'), { recursive: true });
    const made = mkdtempSync(`${dir}.`);
    execFileSync(PYTHON, [join(REPO, 'reference/make_2025_standins.py'), '--data', SHARED_DATA, '--out', made], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (!existsSync(dir)) renameSync(made, dir);
  }
  return dir;
}

interface RunDoc { lumi: number; cuts: string[]; samples: Record<string, ReferenceSample & { standIn?: boolean }> }

function hzzRun(data: string, samples: string[]): RunDoc {
  const out = join(mkdtempSync(join(tmpdir(), 'hzz-2025-')), 'out');
  const run = spawnSync('node', [CLI, 'run', '--catalog', CATALOG_2025, '--analysis', 'atlas-2025e-13tev-beta', '--data', data, '--samples', samples.join(','), '--parallel', '2', '--chunk-size', '700', '--out', out], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(readFileSync(join(out, 'histograms.json'), 'utf8')) as RunDoc;
}

describe('the 2025 notebook equals its uproot implementation bin for bin', () => {
  test('on the real data15 period D file', () => {
    const doc = hzzRun(SHARED_DATA, ['data15_periodD']);
    assert.deepEqual(doc.cuts, CUTS, 'the notebook\'s cuts, in its order');
    assert.equal(doc.lumi, 0.105);
    const ref = runReference({ catalog: CATALOG_2025, data: SHARED_DATA, samples: ['data15_periodD'], lumi: doc.lumi, extra: ['--notebook', '2025'] });
    sameAsReference(doc.samples.data15_periodD, ref.data15_periodD, 'data15_periodD');
    // Every cut before the last removes events of the real file: a dropped or loosened one shows.
    const flow = [3424, ...ref.data15_periodD!.cutflow];
    assert.deepEqual(flow.slice(0, 7).map((n, i) => n > flow[i + 1]!), [true, true, true, true, true, true, false]);
  });

  test('on 2025-schema MC stand-ins written from its events, weighted from their own branches', () => {
    const dir = standIns2025Dir();
    const samples = ['data15_periodD', 'llll_700600', 'ggH125_ZZ4l_345060'];
    const doc = hzzRun(dir, samples);
    const ref = runReference({ catalog: CATALOG_2025, data: dir, samples, lumi: doc.lumi, extra: ['--notebook', '2025'] });
    for (const s of samples) sameAsReference(doc.samples[s], ref[s], s);
    assert.deepEqual(samples.map((s) => doc.samples[s]!.standIn === true), [false, true, true], 'the stand-ins are marked as such');
    const signal = doc.samples.ggH125_ZZ4l_345060!;
    assert.ok(signal.entries.reduce((a, b) => a + b) >= 10, 'weighted events fill the m4l bins');
    // Some of their mcWeights are negative: the notebook's |w| makes every bin's sum positive.
    assert.ok(signal.sumw.every((w, i) => (signal.entries[i]! > 0 ? w > 0 : w === 0)), 'the weight is lumi·1000/sum_of_weights × |each factor|');
  });
});
