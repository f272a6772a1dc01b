import { join } from 'node:path';
import { binEdges, type SampleHistogram } from './histogram.js';
import type { MergedHistograms } from './merge.js';
import { renderPlot } from './plot.js';
import { writeAtomic } from './util/write-atomic.js';

/**
 * The output folder's files, drawn and written from the merged histograms, each atomically:
 * hzz_m4l.png, histograms.json (every number) and histograms.csv (one row per category and bin).
 */
export const OUTPUT_FILES = { png: 'hzz_m4l.png', json: 'histograms.json', csv: 'histograms.csv' } as const;

export function writeOutputs(dir: string, r: MergedHistograms, extra: Record<string, unknown> = {}): void {
  writeAtomic(join(dir, OUTPUT_FILES.json), JSON.stringify(histogramsDocument(r, extra), null, 1) + '\n');
  writeAtomic(join(dir, OUTPUT_FILES.csv), histogramsCsv(r));
  writeAtomic(join(dir, OUTPUT_FILES.png), renderPlot(r));
}

/** histograms.json: everything needed to redraw the plot or check a number, per sample and category. */
export function histogramsDocument(r: MergedHistograms, extra: Record<string, unknown> = {}) {
  const histo = (h: SampleHistogram) => ({ sumw: h.sumw, sumw2: h.sumw2, entries: h.entries, nRead: h.nRead, nSelected: h.nSelected });
  return {
    schema: 'hzz.histograms/v1',
    analysis: r.plan.analysis,
    release: r.plan.release,
    lumi: r.plan.lumi,
    ...(r.plan.lumiSource && { lumiSource: r.plan.lumiSource }),
    binning: r.plan.binning,
    edges: binEdges(r.plan.binning),
    // Complete: every sample asked for was planned, and every chunk of the plan is in.
    complete: r.chunksDone === r.plan.chunks && r.plan.unplanned.length === 0,
    chunks: { total: r.plan.chunks, done: r.chunksDone },
    ...(r.plan.unplanned.length > 0 && { unplanned: r.plan.unplanned }),
    categories: Object.fromEntries(r.plan.categories.map((c) => [c.name, { kind: c.kind, label: c.label, ...histo(r.categories.get(c.name)!) }])),
    samples: Object.fromEntries(r.plan.samples.map((s) => [s.sample, {
      category: s.category, ...(s.lumi !== undefined && { lumi: s.lumi }), ...(s.standIn && { standIn: true }), ...histo(r.samples.get(s.sample)!),
    }])),
    ...extra,
  };
}

/** histograms.csv: one row per (category, bin), for a spreadsheet or pandas. */
function histogramsCsv(r: MergedHistograms): string {
  const edges = binEdges(r.plan.binning);
  const rows = ['category,kind,bin_low,bin_high,sumw,sumw2,entries'];
  for (const c of r.plan.categories) {
    const h = r.categories.get(c.name)!;
    h.sumw.forEach((w, i) => rows.push([csvField(c.name), c.kind, edges[i], edges[i + 1], w, h.sumw2[i], h.entries[i]].join(',')));
  }
  return rows.join('\n') + '\n';
}

const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
