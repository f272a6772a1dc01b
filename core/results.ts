import { binEdges, emptyHistogram, mergeInto, sameBinning, type SampleHistogram } from './histogram.js';
import type { Partial, Plan } from './contracts/messages.js';

/**
 * Merging partials into the analysis result and writing it out. Partials are always added in chunk
 * order, whatever order they arrived in, so the same set of partials gives bit-identical sums.
 */
export interface Results {
  plan: Plan;
  /** Per sample of the plan, the sum of its chunks' histograms. */
  samples: Map<string, SampleHistogram>;
  /** Per category, the sum of its samples. */
  categories: Map<string, SampleHistogram>;
  chunksDone: number;
}

export function combinePartials(plan: Plan, partials: Iterable<Partial>): Results {
  const ordered = [...partials].sort((a, b) => a.chunk.index - b.chunk.index);
  const samples = new Map(plan.samples.map((s) => [s.sample, emptyHistogram(plan.binning)]));
  for (const p of ordered) {
    if (!sameBinning(p.binning, plan.binning)) throw new Error(`chunk ${p.chunk.index} has binning ${JSON.stringify(p.binning)}, the plan ${JSON.stringify(plan.binning)}`);
    const h = samples.get(p.chunk.sample);
    if (!h) throw new Error(`chunk ${p.chunk.index} is for sample '${p.chunk.sample}', which is not in the plan`);
    mergeInto(h, p);
  }
  const categories = new Map(plan.categories.map((c) => [c.name, emptyHistogram(plan.binning)]));
  for (const s of plan.samples) mergeInto(categories.get(s.category)!, samples.get(s.sample)!);
  return { plan, samples, categories, chunksDone: ordered.length };
}

/** histograms.json: everything needed to redraw the plot or check a number, per sample and category. */
export function histogramsDocument(r: Results, extra: Record<string, unknown> = {}) {
  const histo = (h: SampleHistogram) => ({ sumw: h.sumw, sumw2: h.sumw2, entries: h.entries, nRead: h.nRead, nSelected: h.nSelected });
  return {
    schema: 'hzz.histograms/v1',
    analysis: r.plan.analysis,
    release: r.plan.release,
    lumi: r.plan.lumi,
    binning: r.plan.binning,
    edges: binEdges(r.plan.binning),
    complete: r.chunksDone === r.plan.chunks,
    chunks: { total: r.plan.chunks, done: r.chunksDone },
    categories: Object.fromEntries(r.plan.categories.map((c) => [c.name, { kind: c.kind, label: c.label, ...histo(r.categories.get(c.name)!) }])),
    samples: Object.fromEntries(r.plan.samples.map((s) => [s.sample, { category: s.category, ...histo(r.samples.get(s.sample)!) }])),
    ...extra,
  };
}

/** histograms.csv: one row per (category, bin), for a spreadsheet or pandas. */
export function histogramsCsv(r: Results): string {
  const edges = binEdges(r.plan.binning);
  const rows = ['category,kind,bin_low,bin_high,sumw,sumw2,entries'];
  for (const c of r.plan.categories) {
    const h = r.categories.get(c.name)!;
    h.sumw.forEach((w, i) => rows.push([csvField(c.name), c.kind, edges[i], edges[i + 1], w, h.sumw2[i], h.entries[i]].join(',')));
  }
  return rows.join('\n') + '\n';
}

const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
