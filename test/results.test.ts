import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createCanvas } from '@napi-rs/canvas';
import { loadCatalogue, parseCatalogue, runLumi, selectSamples } from '../core/catalogue.js';
import { PACKAGE_VERSION } from '../core/version.js';
import type { MergedHistograms } from '../core/merge.js';
import { parseRich, renderPlot } from '../core/plot.js';
import { runLocal } from '../local/run-local.js';
import { CLI, fullCatalogueDir, REPO, SHARED_DATA } from './support/paths.js';

/**
 * What a physicist reads off a run (issue 12): the luminosity of the data that ran, a legend and
 * files that hold only what ran, stand-ins marked, the yields in --json as in the table, the
 * notebook's labels, and the CLI's small courtesies.
 */
const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), 'hzz-results-'));
const json = (dir: string) => JSON.parse(readFileSync(join(dir, 'histograms.json'), 'utf8'));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Every text the plot draws, with the font it is drawn in (the plot's canvas, spied on). */
function drawnTexts(r: MergedHistograms): { text: string; font: string }[] {
  const proto = Object.getPrototypeOf(createCanvas(1, 1).getContext('2d')) as { fillText: (t: string, x: number, y: number) => void; font: string };
  const original = proto.fillText;
  const texts: { text: string; font: string }[] = [];
  proto.fillText = function (this: { font: string }, t: string, x: number, y: number) {
    texts.push({ text: t, font: this.font });
    original.call(this, t, x, y);
  };
  try {
    renderPlot(r);
  } finally {
    proto.fillText = original;
  }
  return texts;
}
const textOf = (texts: { text: string }[]) => texts.map((t) => t.text).join('|');

async function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('node', [CLI, 'run', '--data', SHARED_DATA, ...args]);
}

describe('the luminosity is the data that ran', () => {
  test('data_A with Z,tt̄: MC at period A\'s 0.5 fb⁻¹, on the plot and in histograms.json', async () => {
    const dir = join(out, 'period-a');
    const { stdout } = await cli(['--samples', 'data_A,Ztt', '--out', dir]);
    const doc = json(dir);
    assert.equal(doc.lumi, 0.5);
    assert.equal(doc.lumiSource, 'data');
    assert.equal(doc.samples.data_A.lumi, 0.5);
    assert.match(stdout, /^MC normalised to 0\.5 fb⁻¹ \(the data that ran\)$/m);
    const report = await runLocal({ data: SHARED_DATA, samples: ['data_A', 'Ztt'], chunkSize: 50_000, parallel: 1 });
    assert.match(textOf(drawnTexts(report.results)), /L dt = 0\.5 fb\|−1/);
    // 0.5 of 10 fb⁻¹: a twentieth of the full run's MC, up to the float32 weights.
    const full = await runLocal({ data: SHARED_DATA, samples: ['data', 'Ztt'], chunkSize: 50_000, parallel: 1 });
    assert.equal(full.results.plan.lumi, 10, 'the four periods add up to the notebook\'s 10 fb⁻¹');
    assert.ok(Math.abs(sum(doc.samples.Zee.sumw) / sum(full.results.samples.get('Zee')!.sumw) - 0.05) < 1e-6);
  });

  test('--lumi overrides and says so; an MC-only run takes the catalogue\'s default and says so', async () => {
    const set = join(out, 'lumi-set');
    await cli(['--samples', 'data_A,Ztt', '--lumi', '5', '--out', set]);
    assert.deepEqual([json(set).lumi, json(set).lumiSource], [5, 'set']);
    const mc = join(out, 'mc-only');
    const { stdout } = await cli(['--samples', 'Ztt', '--out', mc]);
    assert.deepEqual([json(mc).lumi, json(mc).lumiSource], [10, 'catalogue']);
    assert.match(stdout, /MC normalised to 10 fb⁻¹ \(the catalogue's default: no data ran\)/);
  });

  test('the 2025 data15 period D file is 0.105 fb⁻¹, as the 2025 notebook gives it', async () => {
    const report = await runLocal({ catalogue: join(REPO, 'catalogues/atlas-2025e-exactly4lep-data15D.json'), data: SHARED_DATA, samples: ['data'], chunkSize: 50_000, parallel: 1 });
    assert.equal(report.results.plan.lumi, 0.105);
    const texts = textOf(drawnTexts(report.results));
    assert.match(texts, /L dt = 0\.105 fb/);
    assert.doesNotMatch(texts, /Stat\. Unc\./, 'no MC, no band, no band in the legend');
  });

  test('a data sample without a lumi asks for one; an MC sample with one is refused', () => {
    const cat = loadCatalogue();
    const noLumi = parseCatalogue({ ...cat, samples: cat.samples.map((s) => (s.name === 'data_B' ? { ...s, lumi: undefined } : s)) }, 'test');
    assert.throws(() => runLumi(noLumi, selectSamples(noLumi, ['data'])), /sample 'data_B': is data without a 'lumi'.*--lumi, spec\.lumi/);
    assert.deepEqual(runLumi(noLumi, selectSamples(noLumi, ['data']), 3), { lumi: 3, lumiSource: 'set' });
    assert.throws(() => parseCatalogue({ ...cat, samples: cat.samples.map((s) => (s.name === 'Zee' ? { ...s, lumi: 1 } : s)) }, 'test'), /\/samples\/4 \(Zee\): 'lumi' belongs to data samples/);
  });
});

test('the README\'s first command: only the categories that ran, in the legend, the table, the CSV and the JSON', async () => {
  const dir = join(out, 'readme');
  const { stdout } = await cli(['--samples', 'data,Ztt', '--out', dir]);
  assert.deepEqual(Object.keys(json(dir).categories), ['data', 'Ztt']);
  const csvCategories = new Set(readFileSync(join(dir, 'histograms.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0]));
  assert.deepEqual([...csvCategories], ['data', 'Ztt']);
  assert.doesNotMatch(stdout, /^(ZZ|signal)\s/m);
  const report = await runLocal({ data: SHARED_DATA, samples: ['data', 'Ztt'], chunkSize: 50_000, parallel: 1 });
  const texts = textOf(drawnTexts(report.results));
  assert.match(texts, /Background \|Z,tt̄/);
  assert.match(texts, /Stat\. Unc\./);
  assert.doesNotMatch(texts, /Background \|ZZ|Signal/, 'no swatch of a category that did not run');
});

describe('stand-ins are marked', () => {
  test('the files say so, and so do the plot, the table and histograms.json', async () => {
    const dir = join(out, 'standins');
    const { stdout } = await run('node', [CLI, 'run', '--data', fullCatalogueDir(), '--out', dir]);
    const doc = json(dir);
    for (const s of ['llll', 'ggH125_ZZ4lep', 'VBFH125_ZZ4lep', 'WH125_ZZ4lep', 'ZH125_ZZ4lep']) assert.equal(doc.samples[s].standIn, true, s);
    for (const s of ['data_A', 'Zee', 'Zmumu', 'ttbar_lep']) assert.equal(doc.samples[s].standIn, undefined, s);
    assert.match(stdout, /^ZZ \(stand-in\)\s+background/m);
    const report = await runLocal({ data: fullCatalogueDir(), samples: ['data', 'ZZ'], chunkSize: 50_000, parallel: 1 });
    assert.match(textOf(drawnTexts(report.results)), /Stand-in files \(ZZ\): synthetic, not physics/);
    const real = await runLocal({ data: SHARED_DATA, samples: ['data', 'Ztt'], chunkSize: 50_000, parallel: 1 });
    assert.doesNotMatch(textOf(drawnTexts(real.results)), /Stand-in/);
  });

  test('the README\'s stand-in command works as written in a fresh clone beside ../shared/data', async () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const command = readme.split('\n').find((l) => l.startsWith('python3 scripts/make_root_files.py') && l.includes('hzz.js run'));
    assert.ok(command, 'the README gives one command that makes the stand-ins and runs on them');
    // A clone's layout: the built tree in clone/, the shared files in ../shared/data.
    const root = mkdtempSync(join(tmpdir(), 'hzz-clone-'));
    const clone = join(root, 'clone');
    mkdirSync(clone);
    mkdirSync(join(root, 'shared'));
    symlinkSync(SHARED_DATA, join(root, 'shared/data'));
    for (const f of ['scripts', 'dist', 'catalogues', 'node_modules', 'package.json']) symlinkSync(join(REPO, f), join(clone, f));
    const { stdout } = await run('bash', ['-c', command], { cwd: clone });
    assert.match(stdout, /^signal \(stand-in\)\s+signal\s+3097\s+924\s+697\s+0\.4595/m);
    const outDir = /--out (\S+)\s*$/.exec(command)![1]!;
    assert.equal(json(join(clone, outDir)).samples.llll.standIn, true);
  });
});

describe('--json is the run\'s result: the table\'s numbers', () => {
  test('per category and per sample, with the Higgs window', async () => {
    const dir = join(out, 'json');
    const args = ['--data', fullCatalogueDir(), '--parallel', '1'];
    const [{ stdout: table }, { stdout: bySample }, { stdout: printed }] = await Promise.all([
      run('node', [CLI, 'run', ...args, '--out', join(out, 'table')]), run('node', [CLI, 'run', ...args, '--by-sample', '--out', join(out, 'by-sample')]),
      run('node', [CLI, 'run', ...args, '--json', '--out', dir]),
    ]);
    const result = JSON.parse(printed);
    assert.equal(result.lumi, 10);
    assert.equal(result.lumiSource, 'data');
    assert.deepEqual(result.failures, []);
    const rows = (text: string) => new Map(text.split('\n').filter((l) => /^\S+( \(stand-in\))?\s+(data|background|signal)\s+\d/.test(l)).map((l) => {
      const cells = l.replace(' (stand-in)', '').split(/\s{2,}/);
      return [cells[0]!, cells.slice(2).map(Number)] as const;
    }));
    for (const [list, text] of [[result.categories, table], [result.samples, bySample]] as const) {
      const got = rows(text);
      assert.equal(got.size, list.length);
      for (const y of list) {
        const [read, selected, inRange, weighted, stat] = got.get(y.name)!;
        assert.deepEqual([read, selected, inRange], [y.read, y.selected, y.inRange], y.name);
        assert.ok(Math.abs(weighted! - y.yield) <= 5e-5 * Math.max(1, y.yield), `${y.name} yield ${weighted} vs ${y.yield}`);
        assert.ok(Math.abs(stat! - y.statUnc) <= 0.05, `${y.name} stat ${stat} vs ${y.statUnc}`);
      }
    }
    assert.equal(result.samples.find((y: { name: string }) => y.name === 'llll').standIn, true);
    const w = result.higgsWindow;
    assert.deepEqual([w.lo, w.hi], [120, 130]);
    assert.ok(Math.abs(w.sOverSqrtB - w.signal / Math.sqrt(w.background)) < 1e-12);
    assert.ok(Math.abs(w.asimovZ - Math.sqrt(2 * ((w.signal + w.background) * Math.log(1 + w.signal / w.background) - w.signal))) < 1e-12);
    const doc = json(dir);
    // And the numbers are histograms.json's: the yield its sum of weights, the uncertainty √Σw².
    for (const y of result.categories) {
      const h = doc.categories[y.name];
      assert.equal(y.inRange, sum(h.entries), y.name);
      assert.ok(Math.abs(y.yield - sum(h.sumw)) <= 1e-12 * sum(h.sumw), y.name);
      assert.ok(Math.abs(y.statUnc - Math.sqrt(sum(h.sumw2))) <= 1e-12 * y.statUnc, y.name);
    }
    const inWindow = (h: { sumw: number[] }) => h.sumw[8]! + h.sumw[9]!;
    assert.ok(Math.abs(w.signal - inWindow(doc.categories.signal)) < 1e-12);
    assert.ok(Math.abs(w.background - inWindow(doc.categories.Ztt) - inWindow(doc.categories.ZZ)) < 1e-9);
    assert.match(table, new RegExp(`^120-130 GeV: signal ${w.signal.toFixed(3)}, background ${w.background.toFixed(3)}, data ${w.data}; s/√b ${w.sOverSqrtB.toPrecision(3)}, Asimov Z ${w.asimovZ.toPrecision(3)}$`, 'm'));
  });
});

describe('labels as the notebook writes them', () => {
  test('mathtext: $…$ italic, _ and ^ sub- and superscripts', () => {
    assert.deepEqual(parseRich('Signal ($m_H$ = 125 GeV)'), [
      { text: 'Signal (', italic: false, shift: 0 }, { text: 'm', italic: true, shift: 0 }, { text: 'H', italic: true, shift: 1 },
      { text: ' = 125 GeV)', italic: false, shift: 0 },
    ]);
    assert.deepEqual(parseRich('fb^{−1}'), [{ text: 'fb', italic: false, shift: 0 }, { text: '−1', italic: false, shift: -1 }]);
  });

  test('the plot draws m_H, ZZ*, fb⁻¹ and m₄ℓ as smaller, shifted text', async () => {
    const report = await runLocal({ data: fullCatalogueDir(), chunkSize: 50_000, parallel: 1 });
    const texts = drawnTexts(report.results);
    const small = (t: string) => texts.some((d) => d.text === t && /\b7px/.test(d.font));
    for (const t of ['H', '*', '−1']) assert.ok(small(t), `'${t}' drawn as a script`);
    assert.ok(texts.some((d) => d.text === '4ℓ' && /9\.1px/.test(d.font)), 'the axis title\'s subscript 4ℓ');
    assert.ok(texts.some((d) => d.text === 'm' && /italic/.test(d.font)), 'italic m of m_H');
    assert.doesNotMatch(textOf(texts), /m_H|\$|\^/, 'no markup left in what is drawn');
  });
});

describe('the CLI', () => {
  test('--samples tolerates spaces around commas', async () => {
    const dir = join(out, 'spaces');
    await cli(['--samples', 'data_A, Ztt', '--out', dir]);
    assert.deepEqual(Object.keys(json(dir).samples), ['data_A', 'Zee', 'Zmumu', 'ttbar_lep']);
  });

  test('hzz --version prints the package version', async () => {
    const { stdout } = await run('node', [CLI, '--version']);
    assert.equal(stdout.trim(), PACKAGE_VERSION);
  });

  test('--parallel above the cores is capped, with a warning', async () => {
    const { stderr } = await cli(['--samples', 'data_A', '--parallel', '64', '--out', join(out, 'parallel')]);
    assert.match(stderr, /^hzz: --parallel 64 is more than this machine's \d+ cores: running \d+ at once$/m);
  });
});
