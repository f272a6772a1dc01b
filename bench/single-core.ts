import { loadDefinition } from '../core/analysis/load-definition.js';
import { analyzeChunk } from '../core/analyze-chunk.js';
import { loadCatalogue } from '../core/catalogue.js';
import { inflateEngine } from '../core/root/inflate-into.js';
import { RootTree } from '../core/root/tree.js';

/**
 * One worker's hot path on one core, in a process of its own so that its peak memory is its own:
 * read + select + fill each file given, whole, `reps` times. Prints one JSON line, with the name of
 * the inflate engine the process used. Besides wall seconds, each repetition's CPU seconds of the
 * whole process (its helper threads too: reads, GC) and of the main thread alone, which a loaded
 * machine disturbs far less than the wall time.
 * Usage: node dist/bench/single-core.js REPS FILE...
 */
/** user + system seconds of a cpuUsage() difference. */
const cpuTotal = ({ user, system }: NodeJS.CpuUsage): number => (user + system) / 1e6;

const [reps, ...files] = process.argv.slice(2);
const cat = loadCatalogue();
const { definition } = loadDefinition(cat.release);
const seconds: number[] = [];
const cpuSeconds: number[] = [];
const threadCpuSeconds: number[] = [];
let events = 0;
let selected = 0;
for (let rep = 0; rep < Number(reps); rep++) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const threadCpu = process.threadCpuUsage();
  events = 0;
  selected = 0;
  for (const url of files) {
    // A full open of every file in every repetition, as uproot's reference reopens its files;
    // analyzeChunk's own open is served from its cache after the first repetition.
    const tree = await RootTree.open(url, cat.tree);
    const h = await analyzeChunk({
      schema: 'hzz.task/v2', analysis: 'bench', tree: cat.tree, energyUnit: cat.energyUnit, definition, lumi: 10, xsecWeight: 1e-3,
      chunk: { index: 0, sample: 'bench', category: 'bench', url, entryStart: 0, entryStop: tree.entries },
    });
    events += h.nRead;
    selected += h.nSelected;
  }
  seconds.push((performance.now() - started) / 1000);
  cpuSeconds.push(cpuTotal(process.cpuUsage(cpu)));
  threadCpuSeconds.push(cpuTotal(process.threadCpuUsage(threadCpu)));
}
process.stdout.write(JSON.stringify({ seconds, cpuSeconds, threadCpuSeconds, events, selected, peakRssBytes: process.resourceUsage().maxRSS * 1024, inflate: inflateEngine().name }) + '\n');
