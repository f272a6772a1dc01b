import { availableParallelism } from 'node:os';
import { toPartial } from '../core/analyze-chunk.js';
import type { PlanResult } from '../core/chunk-plan.js';
import type { PartialHistogram } from '../core/contracts/messages.js';
import { mergePartials } from '../core/merge.js';
import { ProcessPool } from './process-pool.js';
import { runChunks, type ChunkRuns } from './run-chunks.js';
import { planLocalRun, prepareRun, type LocalRunOptions } from './run-plan.js';
import { sampleFailures, type LocalRunReport } from './run-report.js';

/**
 * `hzz run`: the whole analysis on one machine, cut into the same chunks the cluster would run,
 * analysed in parallel processes. Failures are collected, never silently dropped: what succeeded is
 * still merged and written, and the caller exits non-zero.
 */
export async function runLocal(opts: LocalRunOptions): Promise<LocalRunReport> {
  const started = performance.now();
  const prepared = prepareRun(opts);
  // The processes start (Node, modules) while the plan is being made: their start-up is the part of
  // a run that does not shrink with more processes.
  const pool = new ProcessPool(opts.parallel ?? availableParallelism());
  let planned: PlanResult;
  let runs: ChunkRuns<PartialHistogram>;
  try {
    planned = await planLocalRun(opts, prepared);
    let done = 0;
    // Every chunk is handed to the pool at once, in plan order: the pool runs as many as it has processes.
    runs = await runChunks(planned.tasks, {
      concurrency: planned.tasks.length,
      attempt: async (task) => toPartial(task, await pool.run(task)),
      onSettled: () => opts.onChunk?.(++done, planned.tasks.length),
    });
  } finally {
    await pool.close();
  }
  return {
    results: mergePartials(planned.plan, runs.values),
    failures: [...sampleFailures(planned), ...runs.failures],
    retried: runs.retried,
    seconds: (performance.now() - started) / 1000,
  };
}
