/**
 * Monte Carlo event weights as the notebook computes them. The notebook multiplies a Python float
 * by float32 arrays, so numpy rounds the cross-section weight to float32 and rounds after every
 * product, left to right. Math.fround after each step reproduces those float32 values exactly
 * (a product of two float32 numbers is exact in float64, so rounding it once to float32 is the
 * same as float32 multiplication).
 */
export interface McNormalisation {
  /** Cross-section in pb. */
  xsec: number;
  /** Sum of generator weights of the whole sample before the skim. */
  sumw: number;
  /** Skim efficiency ("red_eff" in the notebook's info file). */
  efficiency: number;
}

/** lumi [fb⁻¹] × 1000 [pb⁻¹ per fb⁻¹] × xsec [pb] / (sumw × efficiency), in float64 as the notebook has it. */
export function crossSectionWeight(lumi: number, n: McNormalisation): number {
  return (lumi * 1000 * n.xsec) / (n.sumw * n.efficiency);
}

/** A per-entry weight factor: a decoded column and the tree entry its first value belongs to. */
export interface FactorColumn {
  values: ArrayLike<number>;
  start: number;
}

/**
 * totalWeight = xsecWeight × each factor of tree entry `entry` (mcWeight, then the scale factors),
 * in float32 arithmetic. Columns rather than numbers, so the per-event loop allocates nothing.
 */
export function eventWeight(xsecWeight32: number, factors: readonly FactorColumn[], entry: number): number {
  let w = xsecWeight32;
  for (const f of factors) w = Math.fround(w * f.values[entry - f.start]!);
  return w;
}
