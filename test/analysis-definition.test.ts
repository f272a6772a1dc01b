import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { parseDefinition } from '../core/analysis/load-definition.js';
import { zCandidateMass } from '../core/analysis/z-candidates.js';
import type { AnalysisDefinition } from '../core/contracts/analysis-definition.js';
import { RunSummarySchema, type RunSummary } from '../core/contracts/run-summary.js';
import type { Bins } from '../core/histogram.js';
import type { MergedHistograms } from '../core/merge.js';
import { runLocal } from '../local/run-local.js';
import { CLI, fullCatalogueDir, REPO, SHARED_DATA } from './support/paths.js';
import { runReference, sameAsReference, sameBins, type ReferenceSample } from './support/reference.js';

/**
 * The analysis as data: a shipped definition other than the default equals its own uproot
 * implementation; a user's copy with a cut changed runs through `hzz run --analysis` with no code
 * change; and a definition that cannot be right is refused before any file is opened.
 */
const CATALOG_2020 = join(REPO, 'catalogues/atlas-2020-4lep.json');
const DEFINITION_2020 = JSON.parse(readFileSync(join(REPO, 'definitions/atlas-2020-4lep.json'), 'utf8')) as AnalysisDefinition;

function writeDefinition(def: unknown): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hzz-definition-'));
  const file = join(dir, 'analysis.json');
  writeFileSync(file, JSON.stringify(def, null, 1));
  return { file, dir };
}

const hzz = (args: string[]) => spawnSync('node', [CLI, ...args], { encoding: 'utf8' });

describe('the 2020 notebook as revised in August 2024 equals its uproot implementation bin for bin', () => {
  for (const [what, data, samples] of [
    ['the shared 2020 files', SHARED_DATA, ['data', 'Zee', 'Zmumu', 'ttbar_lep']],
    ['the ZZ* and signal stand-ins', fullCatalogueDir(), ['llll', 'ggH125_ZZ4lep', 'VBFH125_ZZ4lep', 'WH125_ZZ4lep', 'ZH125_ZZ4lep']],
  ] as const) {
    test(what, async () => {
      const report = await runLocal({ catalogue: CATALOG_2020, analysis: 'atlas-2020-4lep-rev2024', data, samples: [...samples], chunkSize: 300, parallel: 2 });
      assert.deepEqual(report.failures, []);
      const ours: MergedHistograms = report.results;
      const ref = runReference({ catalog: CATALOG_2020, data, samples: [...samples], lumi: ours.plan.lumi, extra: ['--notebook', 'rev2024'] });
      for (const s of ours.plan.samples) sameAsReference(ours.samples.get(s.sample), ref[s.sample], s.sample);
      // The pT cutoffs remove events: a revision that cut nothing would pass the comparison too.
      const plain = runReference({ catalog: CATALOG_2020, data, samples: [...samples], lumi: ours.plan.lumi });
      assert.ok(ours.plan.samples.some((s) => plain[s.sample]!.nSelected > ours.samples.get(s.sample)!.nSelected), 'the cutoffs select fewer events than the 2020 notebook');
    });
  }
});

test('hzz run writes each histogram of the revision as its own PNG and JSON, the cut-flow in the table, histograms.json, cutflow.csv and --json, and lists every file it wrote', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'hzz-rev2024-')), 'out');
  const run = hzz(['run', '--analysis', 'atlas-2020-4lep-rev2024', '--data', SHARED_DATA, '--samples', 'data_D,Zee', '--parallel', '2', '--out', out]);
  assert.equal(run.status, 0, run.stderr);
  const main = JSON.parse(readFileSync(join(out, 'histograms.json'), 'utf8')) as { lumi: number; cuts: string[]; samples: Record<string, ReferenceSample> };
  const ref = runReference({ catalog: CATALOG_2020, data: SHARED_DATA, samples: ['data_D', 'Zee'], lumi: main.lumi, extra: ['--notebook', 'rev2024'] });
  assert.deepEqual(main.cuts, ['leading lepton pT', 'sub-leading lepton pT', 'third-leading lepton pT', 'lepton type', 'lepton charge']);
  ['leading_lep_pt', 'sub_leading_lep_pt', 'third_leading_lep_pt', 'last_lep_pt'].forEach((name, i) => {
    assert.ok(readFileSync(join(out, `hzz_${name}.png`)).subarray(1, 4).toString() === 'PNG', `hzz_${name}.png is a PNG`);
    const doc = JSON.parse(readFileSync(join(out, `hzz_${name}.json`), 'utf8')) as { histogram: { name: string }; binning: object; samples: Record<string, Bins> };
    assert.deepEqual([doc.histogram.name, doc.binning], [name, { lo: 0, hi: 200, width: 5 }]);
    for (const s of ['data_D', 'Zee']) sameBins(doc.samples[s]!, ref[s]!.more![i]!, `${name} ${s}`);
  });
  const csv = readFileSync(join(out, 'cutflow.csv'), 'utf8').split('\n');
  assert.ok(csv.includes(`sample,data_D,lepton charge,${ref.data_D!.cutflow[4]}`), 'cutflow.csv holds the last cut of data_D');
  assert.match(run.stdout, new RegExp(`third-leading lepton pT +${ref.data_D!.cutflow[2]} +${ref.Zee!.cutflow[2]}`), 'the table shows the cut-flow per category');
  const written = (list: string[]) => assert.deepEqual([...list].sort(), readdirSync(out).map((f) => join(out, f)).sort(), 'every file in the output folder is listed, and only those');
  written(/^wrote (.*)$/m.exec(run.stdout)![1]!.split(', '));

  // --json: the same cut-flow, per sample and per category, in a document of its schema.
  const json = hzz(['run', '--analysis', 'atlas-2020-4lep-rev2024', '--data', SHARED_DATA, '--samples', 'data_D,Zee', '--parallel', '2', '--json', '--out', out]);
  assert.equal(json.status, 0, json.stderr);
  const summary = JSON.parse(json.stdout) as RunSummary;
  assert.deepEqual([...Value.Errors(RunSummarySchema, summary)].map((e) => `${e.path}: ${e.message}`), []);
  assert.deepEqual(summary.cuts, main.cuts);
  for (const s of ['data_D', 'Zee']) assert.deepEqual(summary.samples.find((y) => y.name === s)!.cutflow, ref[s]!.cutflow, `${s} cut-flow`);
  assert.deepEqual(summary.categories.map((c) => [c.name, c.cutflow]), [['data', ref.data_D!.cutflow], ['Ztt', ref.Zee!.cutflow]]);
  written(summary.files);
});

test('a physicist keeps only 4μ events in a copy of the 2020 definition and reruns it with hzz run --analysis', () => {
  const mine = structuredClone(DEFINITION_2020);
  mine.name = 'my-4mu';
  mine.cuts.find((c) => c.name === 'lepton type')!.formula = 'type_sum == 52';
  const { file, dir } = writeDefinition(mine);
  const out = join(dir, 'out');
  const samples = ['data', 'Zee', 'Zmumu', 'ttbar_lep'];
  const run = hzz(['run', '--analysis', file, '--data', SHARED_DATA, '--samples', samples.join(','), '--parallel', '2', '--chunk-size', '200', '--out', out]);
  assert.equal(run.status, 0, run.stderr);
  const doc = JSON.parse(readFileSync(join(out, 'histograms.json'), 'utf8')) as { lumi: number; samples: Record<string, ReferenceSample> };
  const ref = runReference({ catalog: CATALOG_2020, data: SHARED_DATA, samples, lumi: doc.lumi, extra: ['--type-sums', '52'] });
  const all = runReference({ catalog: CATALOG_2020, data: SHARED_DATA, samples, lumi: doc.lumi });
  for (const s of ['data_A', 'data_B', 'data_C', 'data_D', 'Zee', 'Zmumu', 'ttbar_lep']) {
    sameAsReference(doc.samples[s], ref[s], s);
    assert.ok(doc.samples[s]!.nSelected <= all[s]!.nSelected, `${s}: 4μ only is a subset`);
  }
  assert.ok(['Zee', 'data_D'].some((s) => doc.samples[s]!.nSelected < all[s]!.nSelected), 'the changed cut selects fewer events');
});

describe('a bad definition is refused before anything runs, naming the formula and the place', () => {
  const refused = (change: (d: AnalysisDefinition) => void, message: RegExp) => () => {
    const def = structuredClone(DEFINITION_2020);
    change(def);
    const { file, dir } = writeDefinition(def);
    const out = join(dir, 'out');
    const run = hzz(['run', '--analysis', file, '--data', SHARED_DATA, '--samples', 'data_A', '--out', out]);
    assert.equal(run.status, 2, `exit status 2 (bad input); stderr: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.ok(!existsSync(out), 'nothing was written');
  };
  const cut = (d: AnalysisDefinition, name: string) => d.cuts.find((c) => c.name === name)!;
  test('an unknown branch', refused((d) => { cut(d, 'lepton charge').formula = 'sum(lep_chrage[0:4]) == 0'; },
    /cut 'lepton charge': formula "sum\(lep_chrage\[0:4\]\) == 0" at character 5, here: "lep_chrage\[0:4\]\) == 0": unknown name 'lep_chrage'/));
  test('a type error', refused((d) => { cut(d, 'lepton type').formula = 'type_sum == 44 || lep_pt[0]'; },
    /cut 'lepton type': formula "type_sum == 44 \|\| lep_pt\[0\]" at character 1.*'\|\|' needs booleans, got bool \|\| float32/));
  test('a cut that is a number, not a test', refused((d) => { cut(d, 'lepton type').formula = 'type_sum'; },
    /cut 'lepton type': formula "type_sum" .*must be one boolean per event, is int/));
  test('a division by a constant zero', refused((d) => { d.variables![0]!.formula = 'mass(lep_pt[0:4], lep_eta[0:4], lep_phi[0:4], lep_E[0:4]) / (1000 - 1000)'; },
    /variable 'm4l': formula ".*" at character 62, here: "1000 - 1000\)": division by a constant zero/));
  test('a histogram with no bins', refused((d) => { d.histograms[0]!.binning = { lo: 80, hi: 80, width: 5 }; },
    /histogram 'm4l': binning \{"lo":80,"hi":80,"width":5\} has no bins: hi \(80\) must be above lo \(80\)/));
  test('a syntax error', refused((d) => { cut(d, 'lepton charge').formula = 'sum(lep_charge[0:4]) == == 0'; },
    /cut 'lepton charge': formula .* at character 25, here: "== 0": expected a number, a name or '\(', found '=='/));
  test('a definition that fails its schema', refused((d) => { (d as { cuts: unknown }).cuts = 'none'; },
    /analysis definition .*analysis\.json: invalid: \/cuts: Expected array/));
});

test('the Z-candidate masses (massZ1, massZ2) equal the uproot reference bin for bin on the shared 2020 files', async () => {
  const mine = structuredClone(DEFINITION_2020);
  mine.name = 'z-candidates';
  const leptons = 'lep_pt[0:4], lep_eta[0:4], lep_phi[0:4], lep_E[0:4], lep_charge[0:4], lep_type[0:4]';
  mine.variables!.push({ name: 'mZ1', formula: `massZ1(${leptons}) * toGeV` }, { name: 'mZ2', formula: `massZ2(${leptons}) * toGeV` });
  for (const z of ['mZ1', 'mZ2']) mine.histograms.push({ name: z, variable: z, binning: { lo: 0, hi: 160, width: 4 }, label: `m_{${z.slice(1)}} [GeV]` });
  const { file } = writeDefinition(mine);
  const samples = ['data', 'Zee', 'Zmumu', 'ttbar_lep'];
  const ours = (await runLocal({ catalogue: CATALOG_2020, analysis: file, data: SHARED_DATA, samples, chunkSize: 300, parallel: 2 })).results;
  const ref = runReference({ catalog: CATALOG_2020, data: SHARED_DATA, samples, lumi: ours.plan.lumi, extra: ['--z-masses'] });
  for (const s of ['data_A', 'data_B', 'data_C', 'data_D', 'Zee', 'Zmumu', 'ttbar_lep']) sameAsReference(ours.samples.get(s), ref[s], s);
  assert.equal(ours.plan.histograms!.length, 3);

  assert.throws(() => parseDefinition({ ...mine, variables: [{ name: 'z', formula: 'massZ1(lep_pt[0:3], lep_eta[0:4], lep_phi[0:4], lep_E[0:4], lep_charge[0:4], lep_type[0:4])' }] }, 'bad'),
    /variable 'z': formula "massZ1\(.*" at character 8, here: "lep_pt\[0:3\].*": massZ1 needs six numeric slices of the four leptons, argument 1 is float32\[3\]/);
});

test('the Z candidates of 2e2μ, 4μ and unpairable events: the pair nearest the Z mass, its complement, or none', () => {
  // Four massless leptons at eta 0 (E = pt): a pair's mass is 2·sqrt(pt_i·pt_j)·|sin(Δφ/2)|, back to back 2·sqrt(pt_i·pt_j).
  const at = (pt: [number, number, number, number], phi: [number, number, number, number], charge: [number, number, number, number], type: [number, number, number, number]) =>
    [1, 2].map((which) => zCandidateMass(which as 1 | 2, 1, pt, [0, 0, 0, 0], phi, pt, charge, type));
  const [ee, mumu] = [[40, 40], [30, 30]];
  // 2e2μ: ee (80) is nearer 91.19 than μμ (60), whichever order they are stored in.
  assert.deepEqual(at([ee[0]!, ee[1]!, mumu[0]!, mumu[1]!], [0, Math.PI, 1, 1 + Math.PI], [1, -1, -1, 1], [11, 11, 13, 13]).map(Math.round), [80, 60]);
  assert.deepEqual(at([mumu[0]!, ee[0]!, mumu[1]!, ee[1]!], [1, 0, 1 + Math.PI, Math.PI], [-1, 1, 1, -1], [13, 11, 13, 11]).map(Math.round), [80, 60]);
  // 4μ, charges + + − −: pairs (0,2) (1,3) and (0,3) (1,2) count; (0,3) is the one nearest the Z.
  const [z1, z2] = at([45.5, 20, 30, 45.5], [0, 2, 2 + Math.PI, Math.PI], [1, 1, -1, -1], [13, 13, 13, 13]);
  assert.ok(Math.abs(z1! - 91) < 1e-9, `Z1 ${z1}`);
  assert.ok(Math.abs(z2! - 2 * Math.sqrt(20 * 30)) < 1e-9, `Z2 ${z2}`);
  // e+e+μ−μ− and three electrons with a muon: no pairing counts, neither mass exists.
  assert.deepEqual(at([40, 40, 30, 30], [0, Math.PI, 1, 1 + Math.PI], [1, 1, -1, -1], [11, 11, 13, 13]), [NaN, NaN]);
  assert.deepEqual(at([40, 40, 30, 30], [0, Math.PI, 1, 1 + Math.PI], [1, -1, 1, -1], [11, 11, 11, 13]), [NaN, NaN]);
});
