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
  const all = definition.histograms.map((d) => emptyHistogram(d.binning));
  const h = all[0]!;
  const acc: Accumulators = {
    cutflow: definition.cuts.map(() => 0),
    histograms: definition.histograms.map((d, i) => ({ bin: binFinder(d.binning), sumw: all[i]!.sumw, sumw2: all[i]!.sumw2, entries: all[i]!.entries })),
  };
  const k = { xsecWeight: task.xsecWeight ?? 1, lumi: task.lumi, toGeV: task.energyUnit === 'MeV' ? 0.001 : 1 };
  const names = compiled.reads.map((b) => b.name);
  for await (const w of tree.windows(names, chunk.entryStart, chunk.entryStop)) {
    compiled.run(names.map((n) => w.columns.get(n)!), w.entryStart, w.entryStop, acc, k);
    h.nRead += w.entryStop - w.entryStart;
  }
  h.nSelected = acc.cutflow.length > 0 ? acc.cutflow[acc.cutflow.length - 1]! : h.nRead;
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
    schema: 'hzz.partial/v1', analysis: task.analysis, chunk: task.chunk, binning: task.definition.histograms[0]!.binning,
    sumw: h.sumw, sumw2: h.sumw2, entries: h.entries, nRead: h.nRead, nSelected: h.nSelected,
    worker: { host: hostname(), version: PACKAGE_VERSION }, producedAt: new Date().toISOString(),
  };
}
