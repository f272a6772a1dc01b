import { massOf } from './four-vectors.js';

/**
 * The two Z-candidate masses of a four-lepton event, the built-in functions massZ1 and massZ2 of the
 * expression language. Of the three ways to pair four leptons, a pairing counts when both of its
 * pairs are opposite-charge same-flavour (equal type, charges of opposite sign). Z1 is the pair of
 * a counting pairing whose mass is closest to the Z mass; Z2 is the other pair of that pairing.
 * So a 2e2μ event has one candidate pairing (ee with μμ) and Z1 is whichever of its two pairs is
 * nearer the Z; a 4e or 4μ event with charges summing to 0 has two (each e+ with either e−), and Z1
 * is the nearest of their four pairs; an event with no counting pairing (e+e+μ−μ−, three electrons
 * and a muon, a charge sum not 0) has neither mass (NaN: no histogram is filled, a cut on it fails).
 * Pairs are tried in the order (0,1) (0,2) (0,3) (1,2) (1,3) (2,3), and of two equally near the
 * first wins. reference/hzz_reference.py (--z-masses) computes the same with numpy.
 */
export const Z_MASS_GEV = 91.1876;

const mass2 = massOf(2);
const lanes = new Float64Array(8);

/** The pairs of four objects; pair k's complement is pair 5 - k. */
const PAIRS = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]] as const;

type Four = readonly [number, number, number, number];

/**
 * Z1's (which = 1) or Z2's mass in the file's unit, from the four leptons' pt, eta, phi, E, charge
 * and type; `toGeV` converts it for the distance to the Z mass. Four-vectors are summed in float64,
 * as mass() sums them.
 */
export function zCandidateMass(which: 1 | 2, toGeV: number, pt: Four, eta: Four, phi: Four, e: Four, charge: Four, type: Four): number {
  const pairMass = (i: number, j: number): number => {
    lanes[0] = pt[i]!;
    lanes[1] = pt[j]!;
    lanes[2] = eta[i]!;
    lanes[3] = eta[j]!;
    lanes[4] = phi[i]!;
    lanes[5] = phi[j]!;
    lanes[6] = e[i]!;
    lanes[7] = e[j]!;
    return mass2(lanes);
  };
  const ossf = (i: number, j: number): boolean => type[i] === type[j] && charge[i]! * charge[j]! < 0;
  let best = -1;
  let bestDistance = Infinity;
  let bestMass = NaN;
  PAIRS.forEach(([i, j], k) => {
    const [a, b] = PAIRS[5 - k]!;
    if (!ossf(i, j) || !ossf(a, b)) return;
    const m = pairMass(i, j);
    const distance = Math.abs(m * toGeV - Z_MASS_GEV);
    if (distance < bestDistance) [best, bestDistance, bestMass] = [k, distance, m];
  });
  if (best < 0) return NaN;
  if (which === 1) return bestMass;
  const [a, b] = PAIRS[5 - best]!;
  return pairMass(a, b);
}
