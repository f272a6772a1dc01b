import { availableParallelism } from 'node:os';
import { loadCatalogue, selectSamples, type Catalogue } from '../core/catalogue.js';
import { planAnalysis, type PlanResult } from '../core/chunk-plan.js';
import { badInput, errorKind, errorMessage } from '../core/errors.js';
import { binningProblems, DEFAULT_BINNING, type Binning, type SampleHistogram } from '../core/histogram.js';
import { toPartial } from '../core/analyze-chunk.js';
import type { Partial, Task } from '../core/messages.js';
import { combinePartials, type Results } from '../core/results.js';
import { writeResults } from '../core/write-results.js';
import { backoffDelay, sleep, type RetryPolicy } from '../transport/backoff.js';
import { ProcessPool } from './process-pool.js';

/**
 * `hzz run`: the whole analysis on one machine, cut into the same chunks the cluster would run,
 * analysed in parallel processes. Failures are collected, never silently dropped: what succeeded is
 * still merged and written, and the caller exits non-zero.
 */
export interface LocalRunOptions {
  catalogue?: string | undefined;
  /** Local folder or URL prefix; the catalogue's official URL prefix when absent. */
  data?: string | undefined;
  samples?: string[] | undefined;
  chunkSize: number;
  parallel?: number | undefined;
  lumi?: number | undefined;
  binning?: Binning | undefined;
  analysis?: string | undefined;
  /** Attempts for a chunk that failed transiently (network): default 3. */
  attempts?: number | undefined;
  onPlanned?: (p: PlanResult) => void;
  onChunk?: (done: number, total: number) => void;
}

export interface RunFailure {
  /** What failed: a sample (its file could not be opened) or a chunk. */
  what: string;
  kind: string;
  message: string;
}

export interface LocalRunReport {
  results: Results;
  failures: RunFailure[];
  seconds: number;
}

/** Checks and completes the options, so that bad input fails before any file is opened. */
export function prepareRun(opts: LocalRunOptions): { catalogue: Catalogue; lumi: number; binning: Binning } {
  if (!(Number.isInteger(opts.chunkSize) && opts.chunkSize > 0)) throw badInput('--chunk-size', `must be a positive whole number (got ${opts.chunkSize})`);
  if (opts.parallel !== undefined && !(Number.isInteger(opts.parallel) && opts.parallel > 0)) throw badInput('--parallel', `must be a positive whole number (got ${opts.parallel})`);
  const catalogue = loadCatalogue(opts.catalogue);
  const lumi = opts.lumi ?? catalogue.lumi;
  if (!(lumi > 0)) throw badInput('--lumi', `must be positive (got ${lumi})`);
  const binning = opts.binning ?? DEFAULT_BINNING;
  const problems = binningProblems(binning);
  if (problems.length > 0) throw badInput('binning', problems.join('; '));
  return { catalogue, lumi, binning };
}

export async function planLocalRun(opts: LocalRunOptions, prepared = prepareRun(opts)): Promise<PlanResult> {
  const { catalogue, lumi, binning } = prepared;
  return planAnalysis({
    analysis: opts.analysis ?? `local/${new Date().toISOString().replace(/[:.]/g, '-')}`,
    catalogue, samples: selectSamples(catalogue, opts.samples), source: opts.data ?? catalogue.urlPrefix,
    lumi, binning, chunkSize: opts.chunkSize,
  });
}

export async function runLocal(opts: LocalRunOptions): Promise<LocalRunReport> {
  const started = performance.now();
  const prepared = prepareRun(opts);
  // The processes start (Node, modules) while the plan is being made: their start-up is the part of
  // a run that does not shrink with more processes.
  const pool = new ProcessPool(opts.parallel ?? availableParallelism());
  const partials: Partial[] = [];
  const failures: RunFailure[] = [];
  let planned: PlanResult;
  let done = 0;
  try {
    planned = await planLocalRun(opts, prepared);
    opts.onPlanned?.(planned);
    failures.push(...planned.failures.map((f) => ({ what: `sample ${f.sample}`, kind: errorKind(f.error), message: errorMessage(f.error) })));
    await Promise.all(planned.tasks.map(async (task) => {
      try {
        partials.push(toPartial(task, await withRetries(() => pool.run(task), opts.attempts ?? 3)));
      } catch (err) {
        failures.push({ what: describeChunk(task), kind: errorKind(err), message: errorMessage(err) });
      }
      opts.onChunk?.(++done, planned.tasks.length);
    }));
  } finally {
    await pool.close();
  }
  return { results: combinePartials(planned.plan, partials), failures, seconds: (performance.now() - started) / 1000 };
}

const CHUNK_RETRY: RetryPolicy = { initialMs: 200, maxMs: 5_000, budgetMs: Infinity };

async function withRetries(run: () => Promise<SampleHistogram>, attempts: number): Promise<SampleHistogram> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (errorKind(err) !== 'transient' || attempt >= attempts) throw err;
      await sleep(backoffDelay(attempt, CHUNK_RETRY));
    }
  }
}

export function describeChunk(t: Task): string {
  return `chunk ${t.chunk.index} (${t.chunk.sample} entries ${t.chunk.entryStart}-${t.chunk.entryStop})`;
}

export function writeRunOutputs(out: string, report: LocalRunReport): void {
  writeResults(out, report.results, { failures: report.failures, wallSeconds: report.seconds });
}
