import { join } from 'node:path';
import { renderPlot } from './plot.js';
import { histogramsCsv, histogramsDocument, type Results } from './results.js';
import { writeAtomic } from './util/write-atomic.js';

/** The output folder's files, each written atomically: hzz_m4l.png, histograms.json, histograms.csv. */
export const OUTPUT_FILES = { png: 'hzz_m4l.png', json: 'histograms.json', csv: 'histograms.csv' } as const;

export function writeResults(dir: string, r: Results, extra: Record<string, unknown> = {}): void {
  writeAtomic(join(dir, OUTPUT_FILES.json), JSON.stringify(histogramsDocument(r, extra), null, 1) + '\n');
  writeAtomic(join(dir, OUTPUT_FILES.csv), histogramsCsv(r));
  writeAtomic(join(dir, OUTPUT_FILES.png), renderPlot(r));
}
