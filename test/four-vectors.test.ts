import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { massOf, trig } from '../core/analysis/four-vectors.js';
import { RootTree } from '../core/root/tree.js';
import { SHARED_2020_FILES, SHARED_DATA } from './support/paths.js';

/**
 * The tables' cos, sin and sinh (core/analysis/four-vectors.ts) against Math's, on every lepton φ and η
 * of the shared files and on sweeps of float32 angles across and beyond the tables. Errors are
 * absolute, in units of 2⁻⁵² times the larger of 1 and the partner function (cosh for sinh): the
 * scale of the four-vector sums they enter.
 */
const EPS = 2 ** -52;
const { cos, sin, sinh } = trig;

function worst(xs: Iterable<number>): { cos: number; sin: number; sinh: number } {
  const w = { cos: 0, sin: 0, sinh: 0 };
  for (const x of xs) {
    w.cos = Math.max(w.cos, Math.abs(cos(x) - Math.cos(x)) / EPS);
    w.sin = Math.max(w.sin, Math.abs(sin(x) - Math.sin(x)) / EPS);
    w.sinh = Math.max(w.sinh, Math.abs(sinh(x) - Math.sinh(x)) / (EPS * Math.cosh(x)));
  }
  return w;
}

const within = (label: string, w: { cos: number; sin: number; sinh: number }, limit: number): void => {
  for (const [f, e] of Object.entries(w)) assert.ok(e <= limit, `${label}: ${f} is ${e.toFixed(2)} × 2⁻⁵² from Math's (limit ${limit})`);
};

test('every lepton φ and η of the shared 2020 files (about 40,000): within 2 × 2⁻⁵² of Math (sinh 3)', async () => {
  let n = 0;
  for (const f of SHARED_2020_FILES) {
    const tree = await RootTree.open(join(SHARED_DATA, f), 'mini');
    const xs: number[] = [];
    for await (const w of tree.windows(['lep_phi', 'lep_eta'], 0, tree.entries)) {
      for (const name of ['lep_phi', 'lep_eta']) xs.push(...w.columns.get(name)!.values);
    }
    tree.close();
    within(f, worst(xs), 3);
    n += xs.length;
  }
  assert.ok(n > 20_000, `only ${n} angles read`);
});

test('float32 angles across the tables, at and between their steps, and beyond them', () => {
  const sweep = function* (lo: number, hi: number, step: number) {
    for (let x = lo; x <= hi; x += step) yield Math.fround(x);
  };
  within('−4…4 in steps of 1/1000', worst(sweep(-4, 4, 1e-3)), 2);
  within('−8…8 in steps of 1/997', worst(sweep(-8, 8, 1 / 997)), 3);
  // Half-way between table steps, where the remainder is largest, and either side of each step.
  const halves = Array.from({ length: 2049 }, (_, i) => (i - 1024 + 0.5) / 128).flatMap((x) => [x, Math.fround(x - 1e-7), Math.fround(x + 1e-7)]);
  within('half steps', worst(halves), 3);
  // Outside the tables, and what is not a number, Math decides.
  for (const x of [3.2501, -3.5, 4.0001, 8.5, -30, 1e10, Infinity, -Infinity, NaN]) {
    assert.ok(Object.is(cos(x), Math.cos(x)) && Object.is(sin(x), Math.sin(x)), `cos/sin(${x})`);
    if (Math.abs(x) > 3 || Number.isNaN(x)) assert.ok(Object.is(sinh(x), Math.sinh(x)), `sinh(${x})`);
  }
  assert.ok(Object.is(sin(0), 0) && Object.is(sinh(0), 0) && cos(0) === 1);
});

test('mass() of the first four and of pairs of leptons, every event of the shared 2020 files: Math\'s formula, m² to 2⁻⁴⁸ of E²', async () => {
  const mathMass = (pt: number[], eta: number[], phi: number[], e: number[]): number => {
    let px = 0, py = 0, pz = 0, en = 0;
    pt.forEach((p, k) => { px += p * Math.cos(phi[k]!); py += p * Math.sin(phi[k]!); pz += p * Math.sinh(eta[k]!); en += e[k]!; });
    return Math.sqrt(en * en - (px * px + py * py + pz * pz));
  };
  const names = ['lep_pt', 'lep_eta', 'lep_phi', 'lep_E'];
  let events = 0;
  let worstRel = 0;
  for (const f of SHARED_2020_FILES) {
    const tree = await RootTree.open(join(SHARED_DATA, f), 'mini');
    for await (const w of tree.windows(names, 0, tree.entries)) {
      const [pt, eta, phi, e] = names.map((n) => w.columns.get(n)!);
      for (let entry = w.entryStart; entry < w.entryStop; entry++) {
        const at = (c: typeof pt, k: number): number => c!.values[c!.offsets![entry - c!.entryStart]! + k]!;
        const lanes = (ks: number[]) => [pt, eta, phi, e].map((c) => ks.map((k) => at(c, k)));
        for (const ks of [[0, 1, 2, 3], [0, 1], [2, 3], [1, 3]]) {
          const [p, h, f, en] = lanes(ks) as [number[], number[], number[], number[]];
          const ours = massOf(ks.length)(Float64Array.from([...p, ...h, ...f, ...en]));
          const theirs = mathMass(p, h, f, en);
          // m² = E² − p² cancels for a collinear pair: its error is a fraction of E², not of m².
          const energy = en.reduce((x, y) => x + y);
          worstRel = Math.max(worstRel, Math.abs(ours * ours - theirs * theirs) / (energy * energy) / 2 ** -52);
        }
        events++;
      }
    }
    tree.close();
  }
  assert.ok(events > 4_000, `only ${events} events read`);
  assert.ok(worstRel <= 16, `m² differs by up to ${worstRel.toFixed(1)} × 2⁻⁵² of E²`);
});
