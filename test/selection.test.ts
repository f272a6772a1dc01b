import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Column } from '../core/root/columns.js';
import { fourLeptonMass, passesFlavour, passesSelection, type LeptonColumns } from '../core/selection.js';
import { crossSectionWeight, eventWeight } from '../core/weights.js';

/** One event per entry, each a list of leptons (pt, eta, phi, E, charge, type). */
function columns(events: [number, number, number, number, number, number][][]): LeptonColumns {
  const offsets = new Int32Array(events.length + 1);
  events.forEach((ev, i) => { offsets[i + 1] = offsets[i]! + ev.length; });
  const col = (k: number, make: (xs: number[]) => Column['values']): Column => ({ entryStart: 0, entryStop: events.length, offsets, values: make(events.flatMap((ev) => ev.map((l) => l[k]!))) });
  const f32 = (xs: number[]) => Float32Array.from(xs);
  const i32 = (xs: number[]) => Int32Array.from(xs);
  return { pt: col(0, f32), eta: col(1, f32), phi: col(2, f32), energy: col(3, f32), charge: col(4, i32), type: col(5, (xs) => Uint32Array.from(xs)) };
}

const lep = (charge: number, type: number, pt = 50_000, eta = 0, phi = 0, e = 50_000): [number, number, number, number, number, number] => [pt, eta, phi, e, charge, type];

test('flavour: only eeee (44), eeμμ (48) and μμμμ (52)', () => {
  assert.deepEqual([44, 46, 48, 50, 52, 54].map(passesFlavour), [true, false, true, false, true, false]);
});

test('selection uses the first four leptons: charge sum 0 and a good type sum', () => {
  const c = columns([
    [lep(1, 11), lep(-1, 11), lep(1, 13), lep(-1, 13)], // eeμμ, neutral: pass
    [lep(1, 11), lep(1, 11), lep(1, 13), lep(-1, 13)], // charge +2: fail
    [lep(1, 11), lep(-1, 13), lep(1, 13), lep(-1, 13)], // eμμμ (50): fail
    [lep(1, 13), lep(-1, 13), lep(1, 13), lep(-1, 13), lep(1, 11)], // fifth lepton ignored: pass
    [lep(1, 11), lep(-1, 11), lep(1, 11), lep(1, 11), lep(-1, 11)], // first four +2, fifth would fix it: fail
    [lep(1, 11), lep(-1, 11), lep(1, 11)], // three leptons: fail, never read past the event
  ]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((e) => passesSelection(c, e)), [true, false, false, true, false, false]);
});

test('m4l is the invariant mass of the summed four-vectors from (pt, eta, phi, E)', () => {
  // Two back-to-back pairs at rest in z: total momentum 0, so m = total energy.
  const c = columns([[lep(1, 11, 30, 0, 0, 40), lep(-1, 11, 30, 0, Math.PI, 40), lep(1, 13, 20, 0, Math.PI / 2, 25), lep(-1, 13, 20, 0, -Math.PI / 2, 25)]]);
  assert.ok(Math.abs(fourLeptonMass(c, 0) - 130) < 1e-4);
  // One massless lepton along eta: E = pt cosh(eta); m of a single massless vector plus three at rest.
  const d = columns([[lep(1, 11, 10, 1, 0, 10 * Math.cosh(1)), lep(-1, 11, 0, 0, 0, 5), lep(1, 13, 0, 0, 0, 5), lep(-1, 13, 0, 0, 0, 5)]]);
  const e = 10 * Math.cosh(1) + 15;
  const p = 10 * Math.cosh(1);
  assert.ok(Math.abs(fourLeptonMass(d, 0) - Math.sqrt(e * e - p * p)) < 1e-4);
});

test('weights: the notebook\'s float32 product, and its xsec weight from the info file', () => {
  // Zee at 10 fb^-1 (notebook-analysis.md, section 6): 1.297950976e-04.
  const zee = crossSectionWeight(10, { xsec: 1950.5295, sumw: 150277594200, efficiency: 1 });
  assert.ok(Math.abs(zee / 1.297950976e-4 - 1) < 1e-9);
  const at = (v: number) => ({ values: Float32Array.of(v), start: 0 });
  const w = eventWeight(Math.fround(zee), [at(1.5), at(0.9), at(1.1)], 0);
  assert.equal(w, Math.fround(Math.fround(Math.fround(Math.fround(zee) * Math.fround(1.5)) * Math.fround(0.9)) * Math.fround(1.1)));
  assert.equal(Math.fround(w), w, 'a float32 value');
  assert.equal(eventWeight(Math.fround(zee), [at(-2)], 0), Math.fround(Math.fround(zee) * -2), 'negative weights keep their sign');
});
