import { hostname } from 'node:os';
import { checkDefinition } from './analysis/check-definition.js';
import { compileDefinition, type Accumulators, type CompiledAnalysis } from './analysis/compile-definition.js';
import { checkTreeTypes } from './analysis/tree-types.js';
import type { AnalysisDefinition } from './contracts/analysis-definition.js';
import type { PartialHistogram, Task } from './contracts/messages.js';
import { binFinder, emptyHistogram, type SampleHistogram } from './histogram.js';
import { RootTree } from './root/tree.js';
import { PACKAGE_VERSION } from './version.js';

/**
 * One chunk from file to histogram: read the branches the task's analysis definition needs, window
 * by window, and run its compiled loop (cuts, weight, fills). Every entry point (local run, worker
 * Job, tests, benchmark) calls this one function.
 */
export async function analyzeChunk(task: Task): Promise<SampleHistogram> {
  const { chunk, definition } = task;
  const tree = await RootTree.openCached(chunk.url, task.tree);
  const simulated = task.xsecWeight !== undefined;
  const compiled = compiledFor(definition, simulated);
  checkTreeTypes(tree, compiled.reads, definition.branches, definition.name);
  const [first, ...rest] = definition.histograms.map((d) => d.binning);
  const h = emptyHistogram(first!, definition.cuts.length, rest);
  const acc: Accumulators = {
    cutflow: h.cutflow,
    histograms: [h, ...h.more].map((bins, i) => ({ bin: binFinder(definition.histograms[i]!.binning), ...bins })),
  };
  const k = { xsecWeight: task.xsecWeight ?? 1, lumi: task.lumi, toGeV: task.energyUnit === 'MeV' ? 0.001 : 1 };
  const names = compiled.reads.map((b) => b.name);
  for await (const w of tree.windows(names, chunk.entryStart, chunk.entryStop)) {
    compiled.run(names.map((n) => w.columns.get(n)!), w.entryStart, w.entryStop, acc, k);
    h.nRead += w.entryStop - w.entryStart;
  }
  h.nSelected = h.cutflow.length > 0 ? h.cutflow[h.cutflow.length - 1]! : h.nRead;
  return h;
}

/**
 * A chunk process compiles each definition once (per data or simulation) and keeps it: the chunks of
 * a run share one definition, and V8 optimises the loop over all of them.
 */
const compiledCache = new Map<string, CompiledAnalysis>();

function compiledFor(definition: AnalysisDefinition, simulated: boolean): CompiledAnalysis {
  const key = `${simulated}\u0000${JSON.stringify(definition)}`;
  let c = compiledCache.get(key);
  if (!c) compiledCache.set(key, (c = compileDefinition(checkDefinition(definition), simulated)));
  return c;
}

/** The partial message for a chunk's histogram. */
export function toPartial(task: Task, h: SampleHistogram): PartialHistogram {
  return {
    schema: 'hzz.partial/v2', analysis: task.analysis, chunk: task.chunk, binning: task.definition.histograms[0]!.binning,
    sumw: h.sumw, sumw2: h.sumw2, entries: h.entries, nRead: h.nRead, nSelected: h.nSelected, cutflow: h.cutflow, more: h.more,
    worker: { host: hostname(), version: PACKAGE_VERSION }, producedAt: new Date().toISOString(),
  };
}
