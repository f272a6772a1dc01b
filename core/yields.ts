import type { Static } from '@sinclair/typebox';
import type { CategoryKind } from './catalogue.js';
import { binEdges, type SampleHistogram } from './histogram.js';
import type { MergedHistograms } from './merge.js';

/**
 * The numbers a physicist reads off the plot, per category and per sample of a run: the same
 * numbers for the end-of-run table, `--by-sample` and `--json`, so that they cannot disagree.
 */
export interface Yield {
  name: string;
  kind: Static<typeof CategoryKind>;
  /** A sample's category (absent in a category's own yield). */
  category?: string;
  read: number;
  selected: number;
  /** Selected events inside the binning's range (what the plot shows). */
  inRange: number;
  /** Sum of weights in range: the event count for data, the expected events for MC. */
  yield: number;
  /** √(sum of squared weights): √N for data. */
  statUnc: number;
}

/** Expected signal and background in a mass window, and the two simple significances of them. */
export interface WindowYield {
  lo: number;
  hi: number;
  signal: number;
  background: number;
  data: number;
  /** s/√b. */
  sOverSqrtB: number;
  /** The Asimov significance √(2((s+b)ln(1+s/b) − s)), which s/√b approximates for s ≪ b. */
  asimovZ: number;
}

/** The mass window around the Higgs peak that the significance is read in, GeV. */
export const HIGGS_WINDOW = { lo: 120, hi: 130 } as const;

function yieldOf(name: string, kind: Yield['kind'], h: SampleHistogram, bins: (i: number) => boolean = () => true): Yield {
  let inRange = 0;
  let w = 0;
  let w2 = 0;
  h.sumw.forEach((v, i) => {
    if (!bins(i)) return;
    inRange += h.entries[i]!;
    w += v;
    w2 += h.sumw2[i]!;
  });
  return { name, kind, read: h.nRead, selected: h.nSelected, inRange, yield: w, statUnc: Math.sqrt(w2) };
}

export function categoryYields(r: MergedHistograms): Yield[] {
  return r.plan.categories.map((c) => yieldOf(c.name, c.kind, r.categories.get(c.name)!));
}

export function sampleYields(r: MergedHistograms): Yield[] {
  const kinds = new Map(r.plan.categories.map((c) => [c.name, c.kind]));
  return r.plan.samples.map((s) => ({ ...yieldOf(s.sample, kinds.get(s.category)!, r.samples.get(s.sample)!), category: s.category }));
}

/**
 * Signal, background and data in the bins that lie inside [lo, hi]; undefined when the run has no
 * signal or no background, where a significance means nothing.
 */
export function windowYield(r: MergedHistograms, window: { lo: number; hi: number } = HIGGS_WINDOW): WindowYield | undefined {
  const edges = binEdges(r.plan.binning);
  const bins = edges.slice(0, -1).map((_, i) => i).filter((i) => edges[i]! >= window.lo - 1e-9 && edges[i + 1]! <= window.hi + 1e-9);
  if (bins.length === 0) return undefined;
  const inside = (i: number): boolean => bins.includes(i);
  const sum = (kind: Yield['kind']): number | undefined => {
    const cats = r.plan.categories.filter((c) => c.kind === kind);
    if (cats.length === 0) return undefined;
    return cats.reduce((t, c) => t + yieldOf(c.name, c.kind, r.categories.get(c.name)!, inside).yield, 0);
  };
  const s = sum('signal');
  const b = sum('background');
  if (s === undefined || b === undefined || !(b > 0)) return undefined;
  return {
    lo: edges[bins[0]!]!, hi: edges[bins[bins.length - 1]! + 1]!, signal: s, background: b, data: sum('data') ?? 0,
    sOverSqrtB: s / Math.sqrt(b),
    asimovZ: Math.sqrt(2 * ((s + b) * Math.log(1 + s / b) - s)),
  };
}
