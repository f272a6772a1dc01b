import { massOf } from './analysis/four-vectors.js';
import type { Column } from './root/columns.js';

/**
 * The notebook's event selection and m4l, on the first four leptons of each event (they are stored
 * in decreasing pT): charges sum to zero, lepton types (11 = e, 13 = μ) sum to 44, 48 or 52, and
 * m4l is the invariant mass of the sum of their four-vectors built from (pt, eta, phi, E).
 */
const LEPTONS = 4;
const mass4 = massOf(LEPTONS);
const lanes = new Float64Array(4 * LEPTONS);

/** Type sums of eeee, eeμμ and μμμμ. */
export function passesFlavour(typeSum: number): boolean {
  return typeSum === 44 || typeSum === 48 || typeSum === 52;
}

/** The lepton collections of a window of entries, as jagged columns. */
export interface LeptonColumns {
  pt: Column;
  eta: Column;
  phi: Column;
  energy: Column;
  charge: Column;
  type: Column;
}

/** Whether entry `entry` (a tree entry number) passes the charge and flavour cuts. */
export function passesSelection(c: LeptonColumns, entry: number): boolean {
  const iq = firstLepton(c.charge, entry);
  const it = firstLepton(c.type, entry);
  if (iq < 0 || it < 0) return false;
  const q = c.charge.values;
  const t = c.type.values;
  return q[iq]! + q[iq + 1]! + q[iq + 2]! + q[iq + 3]! === 0 && passesFlavour(t[it]! + t[it + 1]! + t[it + 2]! + t[it + 3]!);
}

/** Index into `col.values` of the event's first lepton, or -1 if it has fewer than four. */
function firstLepton(col: Column, entry: number): number {
  const o = col.offsets!;
  const i = entry - col.entryStart;
  const first = o[i]!;
  return o[i + 1]! - first >= LEPTONS ? first : -1;
}

/** Invariant mass of the first four leptons, in the file's energy unit; NaN below four leptons. */
export function fourLeptonMass(c: LeptonColumns, entry: number): number {
  const ipt = firstLepton(c.pt, entry);
  const ieta = firstLepton(c.eta, entry);
  const iphi = firstLepton(c.phi, entry);
  const ie = firstLepton(c.energy, entry);
  if (ipt < 0 || ieta < 0 || iphi < 0 || ie < 0) return NaN;
  copyLanes(c.pt.values, ipt, 0);
  copyLanes(c.eta.values, ieta, LEPTONS);
  copyLanes(c.phi.values, iphi, 2 * LEPTONS);
  copyLanes(c.energy.values, ie, 3 * LEPTONS);
  return mass4(lanes);
}

function copyLanes(values: Column['values'], first: number, to: number): void {
  for (let k = 0; k < LEPTONS; k++) lanes[to + k] = values[first + k]!;
}
