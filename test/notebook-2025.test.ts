import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadDefinition, parseDefinition } from '../core/analysis/load-definition.js';
import type { AnalysisDefinition } from '../core/contracts/analysis-definition.js';
import { runLocal } from '../local/run-local.js';
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
  // Named for the stand-ins' version: v2 added the five-lepton events.
  const dir = join(REPO, '.cache/test-data/standins-2025-v2');
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

  test('on 2025-schema MC stand-ins written from its events, weighted from their own branches', async () => {
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
    // The five-lepton events tell the notebook's sums over every lepton from sums over the first four.
    const firstFour = loadDefinition('atlas-2025e-13tev-beta').definition;
    firstFour.name = 'first-four';
    firstFour.cuts.forEach((c) => { c.formula = c.formula.replaceAll('[:]', '[0:4]'); });
    const file = join(mkdtempSync(join(tmpdir(), 'hzz-first-four-')), 'first-four.json');
    writeFileSync(file, JSON.stringify(firstFour));
    const four = await runLocal({ catalogue: CATALOG_2025, analysis: file, data: dir, samples: ['ggH125_ZZ4l_345060'], chunkSize: 1000, parallel: 2 });
    assert.notEqual(four.results.samples.get('ggH125_ZZ4l_345060')!.cutflow[5], signal.cutflow[5], 'a fifth good lepton fails the notebook\'s == 4');
  });
});

describe('every object of the event, x[:]: what the notebook\'s sums over all leptons need', () => {
  const definition = (): AnalysisDefinition => structuredClone(loadDefinition('atlas-2025e-13tev-beta').definition);
  const refused = (formula: string, message: RegExp) => () => {
    const d = definition();
    d.cuts[1]!.formula = formula;
    assert.throws(() => parseDefinition(d, 'test'), (err: Error) => {
      assert.match(err.message, /cut 'trigger-matched lepton': formula ".*" at character \d+/);
      assert.match(err.message, message);
      return true;
    });
  };
  test('a cut over every object that is not reduced to one value', refused('lep_isTrigMatched[:]', /must be one boolean per event, is bool\[:\]/));
  test('every object against a fixed slice', refused('count(lep_isTrigMatched[:] && lep_isLooseID[0:4]) >= 1', /'&&' between every object \(x\[:\]\) and a fixed slice: bool\[:\] && bool\[4\]/));
  test('every object of a one-value branch', refused('count(trigE[:]) >= 1', /'trigE' is one value per event, not a collection/));
  test('a variable holding every object', () => {
    const d = definition();
    d.variables!.push({ name: 'matched', formula: 'lep_isTrigMatched[:]' });
    assert.throws(() => parseDefinition(d, 'test'), /variable 'matched': formula "lep_isTrigMatched\[:\]" at character 1.*holds every object \(bool\[:\]\)/);
  });

  test('sum, count, any and all over every object; two collections of different lengths fail the cut', async () => {
    const d = definition();
    d.name = 'every-object';
    d.branches.jet_pt = 'float32[]';
    const rows = [
      ['leptons', 'sum(lep_charge[:]) == sum(lep_charge[0:4])'],
      ['some matched', 'any(lep_isTrigMatched[:]) == (count(lep_isTrigMatched[:]) >= 1)'],
      ['all loose', 'all(lep_isLooseID[:]) == (count(lep_isLooseID[:]) == len(lep_isLooseID))'],
      ['as many jets', 'count(lep_pt[:] > 0 || jet_pt[:] > 0) >= 0'],
      ['four jets', 'len(jet_pt) == 4'],
    ];
    d.cuts = rows.map(([name, formula]) => ({ name: name!, formula: formula! }));
    const file = join(mkdtempSync(join(tmpdir(), 'hzz-every-')), 'every.json');
    writeFileSync(file, JSON.stringify(d));
    const report = await runLocal({ catalogue: CATALOG_2025, analysis: file, data: SHARED_DATA, samples: ['data'], chunkSize: 1000, parallel: 2 });
    assert.deepEqual(report.failures, []);
    const flow = report.results.samples.get('data15_periodD')!.cutflow;
    const jets = spawnSync(PYTHON, ['-c', `import uproot, numpy; t = uproot.open(${JSON.stringify(join(SHARED_DATA, 'ODEO_FEB2025_v0_exactly4lep_data15_periodD.exactly4lep.root'))})["analysis"]; print(int(numpy.sum(t["jet_n"].array(library="np") == 4)))`], { encoding: 'utf8' });
    assert.equal(jets.status, 0, jets.stderr);
    const fourJets = Number(jets.stdout);
    assert.ok(fourJets > 0 && fourJets < 3424, `some events, not all, have four jets (${fourJets})`);
    // Every lepton is the first four (lep_n is 4), any is count >= 1, all is count == len; the
    // lepton-or-jet count holds only where both collections have as many objects.
    assert.deepEqual(flow, [3424, 3424, 3424, fourJets, fourJets]);
  });
});
