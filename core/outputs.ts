import { join } from 'node:path';
import { binEdges, type SampleHistogram } from './histogram.js';
import { histogramView, type MergedHistograms } from './merge.js';
import { renderPlot } from './plot.js';
import { writeAtomic } from './util/write-atomic.js';

/**
 * The output folder's files, drawn and written from the merged histograms, each atomically:
 * hzz_m4l.png, histograms.json (every number, the cut-flow too) and histograms.csv (one row per
 * category and bin) for the definition's first histogram; cutflow.csv; and for each further
 * histogram NAME of the definition, hzz_NAME.png and hzz_NAME.json.
 */
export const OUTPUT_FILES = { png: 'hzz_m4l.png', json: 'histograms.json', csv: 'histograms.csv', cutflow: 'cutflow.csv' } as const;

export const histogramFiles = (name: string) => ({ png: `hzz_${name}.png`, json: `hzz_${name}.json` });

/** Writes them all; returns the paths written, in that order. */
export function writeOutputs(dir: string, r: MergedHistograms, extra: Record<string, unknown> = {}): string[] {
  const written: string[] = [];
  const write = (name: string, content: string | Uint8Array): void => {
    writeAtomic(join(dir, name), content);
    written.push(join(dir, name));
  };
  write(OUTPUT_FILES.json, JSON.stringify(histogramsDocument(r, extra), null, 1) + '\n');
  write(OUTPUT_FILES.csv, histogramsCsv(r));
  write(OUTPUT_FILES.cutflow, cutflowCsv(r));
  write(OUTPUT_FILES.png, renderPlot(r));
  r.plan.histograms?.slice(1).forEach((h, i) => {
    const view = histogramView(r, i + 1);
    const files = histogramFiles(h.name);
    write(files.json, JSON.stringify(histogramsDocument(view, extra), null, 1) + '\n');
    write(files.png, renderPlot(view));
  });
  return written;
}

/** histograms.json: everything needed to redraw the plot or check a number, per sample and category. */
export function histogramsDocument(r: MergedHistograms, extra: Record<string, unknown> = {}) {
  const histo = (h: SampleHistogram) => ({ sumw: h.sumw, sumw2: h.sumw2, entries: h.entries, nRead: h.nRead, nSelected: h.nSelected, ...(r.plan.cuts && { cutflow: h.cutflow }) });
  return {
    schema: 'hzz.histograms/v1',
    analysis: r.plan.analysis,
    release: r.plan.release,
    lumi: r.plan.lumi,
    ...(r.plan.lumiSource && { lumiSource: r.plan.lumiSource }),
    ...(r.plan.histograms && { histogram: r.plan.histograms[0] }),
    ...(r.plan.cuts && { cuts: r.plan.cuts }),
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

/** cutflow.csv: one row per (sample or category, cut): the events read, then those passing each cut and all before it. */
function cutflowCsv(r: MergedHistograms): string {
  const rows = ['level,name,cut,events'];
  const add = (level: string, name: string, h: SampleHistogram) => {
    rows.push([level, csvField(name), 'read', h.nRead].join(','));
    (r.plan.cuts ?? []).forEach((cut, i) => rows.push([level, csvField(name), csvField(cut), h.cutflow[i]].join(',')));
  };
  for (const s of r.plan.samples) add('sample', s.sample, r.samples.get(s.sample)!);
  for (const c of r.plan.categories) add('category', c.name, r.categories.get(c.name)!);
  return rows.join('\n') + '\n';
}

const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
