import { loadDefinition } from '../core/analysis/load-definition.js';
import { analyzeChunk } from '../core/analyze-chunk.js';
import { loadCatalogue } from '../core/catalogue.js';
import type { SampleHistogram } from '../core/histogram.js';
import { RootTree } from '../core/root/tree.js';
import { handWrittenChunk } from './hand-written.js';

/**
 * One core, one file, whole, `reps` times, through the declared 2020 analysis or the hand-written
 * one; a process per mode, so neither warms the other's code. Prints one JSON line with the
 * timings and the histogram, which the caller compares between the two.
 * Usage: node dist/bench/declared-single-core.js declared|hand-written REPS FILE
 */
const [mode, reps, url] = process.argv.slice(2) as [string, string, string];
const cat = loadCatalogue();
const { definition } = loadDefinition(cat.release);
const binning = definition.histograms[0]!.binning;
const seconds: number[] = [];
let h: SampleHistogram | undefined;
for (let rep = 0; rep < Number(reps); rep++) {
  const started = performance.now();
  const tree = await RootTree.open(url, cat.tree);
  h = mode === 'hand-written'
    ? await handWrittenChunk(url, cat.tree, cat.branches, binning, 1e-3, tree.entries)
    : await analyzeChunk({
      schema: 'hzz.task/v2', analysis: 'bench', tree: cat.tree, energyUnit: cat.energyUnit, definition, lumi: 10, xsecWeight: 1e-3,
      chunk: { index: 0, sample: 'bench', category: 'bench', url, entryStart: 0, entryStop: tree.entries },
    });
  seconds.push((performance.now() - started) / 1000);
}
process.stdout.write(JSON.stringify({ seconds, histogram: h }) + '\n');
