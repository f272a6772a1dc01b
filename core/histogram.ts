/**
 * Per-sample binned histograms with numpy.histogram's semantics (the notebook's): bins are
 * [edge_i, edge_i+1) except the last, which is closed; values outside [lo, hi] are not counted.
 * A histogram keeps the sum of weights, the sum of squared weights and the raw entry count per bin,
 * and the events read and selected; merging adds them, so it is associative and commutative.
 */
export interface Binning {
  lo: number;
  hi: number;
  width: number;
}

export interface Bins {
  sumw: number[];
  sumw2: number[];
  /** Unweighted number of events per bin. */
  entries: number[];
}

export interface SampleHistogram extends Bins {
  nRead: number;
  /** Events that passed the selection, in range or not. */
  nSelected: number;
  /** Events passing each cut of the analysis and all before it, in the definition's order. */
  cutflow: number[];
  /** The definition's histograms after the first (which is this one), in its order. */
  more: Bins[];
}

export const DEFAULT_BINNING: Binning = { lo: 80, hi: 250, width: 5 };

export function binCount(b: Binning): number {
  return Math.round((b.hi - b.lo) / b.width);
}

/**
 * The most bins a binning may have: the plot is 1,280 device pixels wide, so more bins than this
 * are narrower than a pixel, a partial holds three arrays of them (2,000 chunks of 2,000 bins are
 * 240 MB of JSON), and the draw's time grows with them (2 s for 2,000 bins on a busy 2-core
 * machine). The CLI, the CRD (as CEL), the plan and the plotter all check it, through
 * binningProblems or this constant.
 */
export const MAX_BINS = 2_000;

/** Problems with a binning, or an empty list; a binning must divide [lo, hi] into whole bins. */
export function binningProblems(b: Binning): string[] {
  const problems: string[] = [];
  if (![b.lo, b.hi, b.width].every(Number.isFinite)) return ['lo, hi and width must be finite numbers'];
  if (!(b.width > 0)) problems.push(`width must be positive (got ${b.width})`);
  if (!(b.hi > b.lo)) problems.push(`hi (${b.hi}) must be above lo (${b.lo})`);
  if (problems.length === 0) {
    const n = (b.hi - b.lo) / b.width;
    if (Math.abs(n - Math.round(n)) > 1e-9 * Math.max(1, n)) problems.push(`(hi - lo) / width = ${n} is not a whole number of bins`);
    else if (Math.round(n) > MAX_BINS) problems.push(`${Math.round(n)} bins is more than ${MAX_BINS}`);
  }
  return problems;
}

/** Bin edges as numpy.arange(lo, hi + width, width) computes them: lo + i * width. */
export function binEdges(b: Binning): number[] {
  return Array.from({ length: binCount(b) + 1 }, (_, i) => b.lo + i * b.width);
}

/**
 * Returns a function from a value to its bin index, or -1 when numpy would not count it.
 * The first guess from division is corrected against the exact edges, as numpy does, so values on
 * an edge land in the same bin as numpy puts them.
 */
export function binFinder(b: Binning): (x: number) => number {
  const edges = binEdges(b);
  const n = edges.length - 1;
  const lo = edges[0]!;
  const hi = edges[n]!;
  const inv = 1 / b.width;
  return (x: number): number => {
    if (!(x >= lo && x <= hi)) return -1; // also drops NaN
    let i = Math.floor((x - lo) * inv);
    if (i >= n) i = n - 1;
    if (x < edges[i]!) i -= 1;
    else if (i < n - 1 && x >= edges[i + 1]!) i += 1;
    return i;
  };
}

export function emptyBins(b: Binning): Bins {
  const n = binCount(b);
  return { sumw: new Array(n).fill(0), sumw2: new Array(n).fill(0), entries: new Array(n).fill(0) };
}

/** An empty histogram in binning `b`, counting `cuts` cuts, with empty bins in each of `more`. */
export function emptyHistogram(b: Binning, cuts = 0, more: readonly Binning[] = []): SampleHistogram {
  return { ...emptyBins(b), nRead: 0, nSelected: 0, cutflow: new Array(cuts).fill(0), more: more.map(emptyBins) };
}

function addBins(into: Bins, h: Bins): void {
  if (h.sumw.length !== into.sumw.length) throw new Error(`cannot merge histograms of ${h.sumw.length} and ${into.sumw.length} bins`);
  for (let i = 0; i < into.sumw.length; i++) {
    into.sumw[i]! += h.sumw[i]!;
    into.sumw2[i]! += h.sumw2[i]!;
    into.entries[i]! += h.entries[i]!;
  }
}

export function mergeInto(into: SampleHistogram, h: SampleHistogram): SampleHistogram {
  if (h.cutflow.length !== into.cutflow.length || h.more.length !== into.more.length) {
    throw new Error(`cannot merge a histogram of ${h.cutflow.length} cuts and ${h.more.length} more histograms into one of ${into.cutflow.length} and ${into.more.length}`);
  }
  addBins(into, h);
  h.more.forEach((m, i) => addBins(into.more[i]!, m));
  h.cutflow.forEach((n, i) => { into.cutflow[i]! += n; });
  into.nRead += h.nRead;
  into.nSelected += h.nSelected;
  return into;
}

export function sameBinning(a: Binning, b: Binning): boolean {
  return a.lo === b.lo && a.hi === b.hi && a.width === b.width;
}
