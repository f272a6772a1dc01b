import { badInput } from './contracts/errors.js';
import type { PartialHistogram, Plan } from './contracts/messages.js';
import { binEdges, emptyHistogram, mergeInto, sameBinning, type SampleHistogram } from './histogram.js';

/**
 * The merge: partial histograms added up per sample and per category. Partials are always added in
 * chunk order, whatever order they arrived in, so the same set of partials gives bit-identical sums.
 */
export interface MergedHistograms {
  plan: Plan;
  /** Per sample of the plan, the sum of its chunks' histograms. */
  samples: Map<string, SampleHistogram>;
  /** Per category, the sum of its samples. */
  categories: Map<string, SampleHistogram>;
  chunksDone: number;
}

/**
 * The results as if the definition's histogram `j` were its first (the one `binning` is of): each
 * further histogram is then drawn and written by the same code as the first.
 */
export function histogramView(r: MergedHistograms, j: number): MergedHistograms {
  const h = r.plan.histograms![j]!;
  const pick = (m: Map<string, SampleHistogram>) => new Map([...m].map(([k, s]) => [k, { ...s, ...s.more[j - 1]!, more: [] }]));
  return { ...r, plan: { ...r.plan, binning: h.binning, histograms: [h] }, samples: pick(r.samples), categories: pick(r.categories) };
}

export function mergePartials(plan: Plan, partials: Iterable<PartialHistogram>): MergedHistograms {
  const ordered = [...partials].sort((a, b) => a.chunk.index - b.chunk.index);
  const empty = (): SampleHistogram => emptyHistogram(plan.binning, plan.cuts?.length, plan.histograms?.slice(1).map((h) => h.binning));
  const samples = new Map(plan.samples.map((s) => [s.sample, empty()]));
  for (const p of ordered) {
    if (!sameBinning(p.binning, plan.binning)) throw new Error(`chunk ${p.chunk.index} has binning ${JSON.stringify(p.binning)}, the plan ${JSON.stringify(plan.binning)}`);
    const h = samples.get(p.chunk.sample);
    if (!h) throw new Error(`chunk ${p.chunk.index} is for sample '${p.chunk.sample}', which is not in the plan`);
    mergeInto(h, p);
  }
  const categories = new Map(plan.categories.map((c) => [c.name, empty()]));
  for (const s of plan.samples) mergeInto(categories.get(s.category)!, samples.get(s.sample)!);
  for (const [kind, sums] of [['sample', samples], ['category', categories]] as const) {
    for (const [name, h] of sums) checkFinite(plan, `${kind} '${name}'`, h);
  }
  return { plan, samples, categories, chunksDone: ordered.length };
}

/**
 * Each partial's sums are in range (MAX_BIN_SUM), but enough of them can add up to Infinity, which
 * histograms.json would write as null and the CSV as Infinity: refused, naming the bin.
 */
function checkFinite(plan: Plan, what: string, h: SampleHistogram): void {
  const edges = binEdges(plan.binning);
  for (const key of ['sumw', 'sumw2'] as const) {
    const i = h[key].findIndex((v) => !Number.isFinite(v));
    if (i >= 0) throw badInput(`${plan.analysis}: ${what}`, `${key} of bin ${i} [${edges[i]}, ${edges[i + 1]}) GeV overflows (${h[key][i]}) when its chunks are added up`);
  }
}
