import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { MergedHistograms } from '../core/merge.js';
import { runLocal } from '../local/run-local.js';
import { fullCatalogueDir, manyBasketsDir, REPO, SHARED_2020_FILES, SHARED_DATA } from './support/paths.js';
import { maxRelativeDifference, runReference, type ReferenceSample } from './support/reference.js';

/**
 * The physics check: our reader, selection, weights and histogram against the uproot reference
 * implementation of the notebook, bin for bin, on every real 2020 file here, on uproot-written
 * stand-ins (another branch layout: counted arrays). The 2025 release's file and its notebook are
 * test/notebook-2025.test.ts.
 */
const TOLERANCE = 1e-6;

function compare(ours: MergedHistograms, ref: Record<string, ReferenceSample>, sample: string): void {
  const h = ours.samples.get(sample);
  const r = ref[sample];
  assert.ok(h, `our run has no sample ${sample}`);
  assert.ok(r, `the reference has no sample ${sample}`);
  assert.equal(h.nRead, r.nRead, `${sample}: events read`);
  assert.equal(h.nSelected, r.nSelected, `${sample}: events selected`);
  assert.deepEqual(h.cutflow, r.cutflow, `${sample}: events passing each cut`);
  assert.deepEqual(h.entries, r.entries, `${sample}: selected events per bin`);
  assert.ok(maxRelativeDifference(h.sumw, r.sumw) < TOLERANCE, `${sample}: sum of weights differs by ${maxRelativeDifference(h.sumw, r.sumw)}`);
  assert.ok(maxRelativeDifference(h.sumw2, r.sumw2) < TOLERANCE, `${sample}: sum of squared weights differs by ${maxRelativeDifference(h.sumw2, r.sumw2)}`);
}

describe('every shared 2020 file equals the uproot reference bin for bin', () => {
  const catalog = join(REPO, 'catalogues/atlas-2020-4lep.json');
  let ours: MergedHistograms;
  let ref: Record<string, ReferenceSample>;
  const samples = ['data', 'Zee', 'Zmumu', 'ttbar_lep'];
  before(async () => {
    const report = await runLocal({ catalogue: catalog, data: SHARED_DATA, samples, chunkSize: 100, parallel: 2 });
    assert.deepEqual(report.failures, []);
    ours = report.results;
    ref = runReference({ catalog, data: SHARED_DATA, samples, lumi: ours.plan.lumi });
  });
  test('the shared folder holds the seven 2020 files the notebook uses', () => {
    for (const f of ['data_A', 'data_B', 'data_C', 'data_D', 'mc_361106.Zee', 'mc_361107.Zmumu', 'mc_410000.ttbar_lep']) {
      assert.ok(SHARED_2020_FILES.includes(`${f}.4lep.root`), `${f} is in ${SHARED_DATA}`);
    }
  });
  for (const sample of ['data_A', 'data_B', 'data_C', 'data_D', 'Zee', 'Zmumu', 'ttbar_lep']) {
    test(sample, () => compare(ours, ref, sample));
  }
  test('the run is at the four periods\' 0.5 + 1.9 + 2.9 + 4.7 = 10 fb⁻¹, the notebook\'s, and the reference at the same', () => {
    assert.deepEqual([ours.plan.lumi, ours.plan.lumiSource], [10, 'data']);
  });
  test('the notebook\'s own numbers: 39 data events in the fullest bin', () => {
    assert.equal(Math.max(...ours.categories.get('data')!.entries), 39);
  });
});

test('the two shared 2020 files the notebook does not use (Ztautau, ttW) equal the reference too', async () => {
  // Added to a copy of the catalogue with their info-file numbers (notebook-analysis.md, section 6).
  const cat = JSON.parse(readFileSync(join(REPO, 'catalogues/atlas-2020-4lep.json'), 'utf8')) as { samples: object[] };
  cat.samples.push(
    { name: 'Ztautau', category: 'Ztt', dsid: 361108, path: 'MC/mc_361108.Ztautau.4lep.root', xsec: 1950.6321, sumw: 56171652547.3, efficiency: 1 },
    { name: 'ttW', category: 'Ztt', dsid: 410155, path: 'MC/mc_410155.ttW.4lep.root', xsec: 0.60084912, sumw: 4075279.75386, efficiency: 1 },
  );
  const catalog = join(mkdtempSync(join(tmpdir(), 'hzz-cat-')), 'catalogue.json');
  writeFileSync(catalog, JSON.stringify(cat));
  const samples = ['Ztautau', 'ttW'];
  const report = await runLocal({ catalogue: catalog, data: SHARED_DATA, samples, chunkSize: 250, parallel: 2 });
  assert.deepEqual(report.failures, []);
  const ref = runReference({ catalog, data: SHARED_DATA, samples, lumi: report.results.plan.lumi });
  for (const s of samples) compare(report.results, ref, s);
});

test('a file of 40 baskets, in chunks of whole clusters, equals the reference', async () => {
  const catalog = join(REPO, 'catalogues/atlas-2020-4lep.json');
  const dir = manyBasketsDir();
  const report = await runLocal({ catalogue: catalog, data: dir, samples: ['llll'], chunkSize: 2_345, parallel: 2 });
  assert.deepEqual(report.failures, []);
  const ref = runReference({ catalog, data: dir, samples: ['llll'], lumi: report.results.plan.lumi });
  assert.equal(report.results.samples.get('llll')!.nRead, 40_000);
  compare(report.results, ref, 'llll');
});

describe('uproot-written stand-ins (counted-array branches) equal the reference', () => {
  const catalog = join(REPO, 'catalogues/atlas-2020-4lep.json');
  const samples = ['llll', 'ggH125_ZZ4lep', 'VBFH125_ZZ4lep', 'WH125_ZZ4lep', 'ZH125_ZZ4lep'];
  let ours: MergedHistograms;
  let ref: Record<string, ReferenceSample>;
  before(async () => {
    const dir = fullCatalogueDir();
    const report = await runLocal({ catalogue: catalog, data: dir, samples, chunkSize: 333, parallel: 2 });
    assert.deepEqual(report.failures, []);
    ours = report.results;
    ref = runReference({ catalog, data: dir, samples, lumi: ours.plan.lumi });
  });
  for (const sample of samples) test(sample, () => compare(ours, ref, sample));
});
