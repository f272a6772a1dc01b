import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { analysisDir } from '../core/contracts/analysis-id.js';
import { errorMessage, failureError } from '../core/contracts/errors.js';
import { ExitCode, failureKindOf } from '../core/contracts/exit-codes.js';
import { drawPartialKey, PARTIAL_KEY_ENV } from '../core/contracts/partial-signature.js';
import type { Plan, Task } from '../core/contracts/messages.js';
import type { MergedHistograms } from '../core/merge.js';
import { silentLog, type Log } from '../core/util/log.js';
import { brokerFromUrl, type BrokerAddress } from '../transport/broker-address.js';
import { planEnvelope } from '../transport/envelope.js';
import { openPublishSession, type PublishSession } from '../transport/publish-session.js';
import type { ConfirmPublisher } from '../transport/publisher.js';
import { deleteTopology, runTopology, type Topology } from '../transport/topology.js';
import { runChunks } from './run-chunks.js';
import { planLocalRun, type LocalRunOptions } from './run-plan.js';
import { sampleFailures, type LocalRunReport, type RunFailure } from './run-report.js';

/**
 * The whole pipeline on one machine, through a real broker (`hzz run --broker URL`): publish the
 * plan, run the chunks' workers in-process (the same function a chunk Job runs), let an in-process
 * plotter consume into the output folder, and return once the plotter has every chunk. It takes
 * exactly the path the cluster takes, so a local run through the broker is a rehearsal of it.
 *
 * The run declares broker objects of its own (transport/topology.ts runTopology), so two runs on
 * one vhost, or a run pointed at an installation's vhost, never take each other's messages; it
 * deletes them at the end, keeping only a dead-letter queue that holds something (reported as a
 * failure naming it).
 *
 * The worker and the plotter are handed in by whoever wires the run (cli/commands/run.ts, the
 * tests): local/ stands beside worker/ and plotter/ and imports neither (eslint.config.js).
 */
export interface PipelineParts {
  /** worker/run-worker.ts's runWorker: one chunk analysed and its partial published through `publisher`. */
  runWorker(task: Task, env: NodeJS.ProcessEnv, deps: { publisher: ConfirmPublisher; exchanges: Topology['exchanges']; log: Log }): Promise<{ code: number; message: string }>;
  /** plotter/plotter.ts's startPlotter. */
  startPlotter(opts: { out: string; broker: BrokerAddress; topology: Topology; port: null; log: Log }): Promise<RunPlotter>;
}

/** A message the plotter refused. */
interface Rejected { queue: string; reason: string; analysis?: string }

/** What the run needs of the plotter. */
export interface RunPlotter {
  on(event: 'plan', listener: (id: string) => void): unknown;
  on(event: 'rejected', listener: (e: Rejected) => void): unknown;
  on(event: 'partial', listener: () => void): unknown;
  off(event: 'plan', listener: (id: string) => void): unknown;
  off(event: 'rejected', listener: (e: Rejected) => void): unknown;
  status(id: string): { chunks: { total: number | null; done: number } } | undefined;
  waitForComplete(id: string, timeoutMs: number): Promise<unknown>;
  waitForChunks(id: string, indices: readonly number[], timeoutMs: number): Promise<void>;
  flush(id: string): Promise<unknown>;
  results(id: string): MergedHistograms | undefined;
  stop(): Promise<void>;
}

export interface BrokerRunOptions {
  plan: Plan;
  tasks: readonly Task[];
  /** amqp://user:password@host:port/vhost. */
  broker: string;
  /** Output root: the analysis lands in <out>/<plan.analysis>/. */
  out: string;
  /** Chunks analysed at once (default: the machine's cores). */
  concurrency?: number | undefined;
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface BrokerRunResult {
  results: MergedHistograms;
  /** The analysis's output folder (hzz_m4l.png, histograms.json, histograms.csv, status.json, …). */
  dir: string;
  /** Every chunk of the plan is counted. */
  complete: boolean;
  /** Chunks whose worker did not publish, after retries. */
  failures: RunFailure[];
  /** Chunk attempts that failed and were tried again. */
  retried: RunFailure[];
  /** The run's broker objects (its own, deleted at the end but for dead letters). */
  topology: Topology;
}

/** How long one publish or connect keeps retrying before the chunk fails as transient. */
const PUBLISH_RETRY = { initialMs: 200, maxMs: 5_000, budgetMs: 60_000 };
/** How long to wait for the plotter to take the plan, and to see every published chunk. */
const PLOTTER_TIMEOUT_MS = 300_000;

/** `hzz run --broker`: plan as `hzz run` does, run the plan through the broker, report as `hzz run` does. */
export async function runLocalThroughBroker(opts: LocalRunOptions, broker: string, parts: PipelineParts): Promise<LocalRunReport> {
  const started = performance.now();
  const planned = await planLocalRun(opts);
  // The plotter's copy of the outputs is a by-product here: the caller writes the run's own.
  const store = mkdtempSync(join(tmpdir(), 'hzz-broker-run-'));
  try {
    const r = await runThroughBroker({
      plan: planned.plan, tasks: planned.tasks, broker, out: store, concurrency: opts.parallel,
      onProgress: (p) => opts.onChunk?.(p.done, p.total),
    }, parts);
    return { results: r.results, failures: [...sampleFailures(planned), ...r.failures], retried: r.retried, seconds: (performance.now() - started) / 1000 };
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}

export async function runThroughBroker(opts: BrokerRunOptions, parts: PipelineParts): Promise<BrokerRunResult> {
  // A terminal run reports through its result and the progress bar: the parts stay quiet.
  const log = silentLog;
  const address = brokerFromUrl(opts.broker);
  // A key of this run's own: the plotter counts only partials signed with it, so nothing another
  // run (or anyone else on the vhost) publishes under this id is counted.
  const partialKey = drawPartialKey();
  const plan: Plan = { ...opts.plan, partialKey };
  const workerEnv = { [PARTIAL_KEY_ENV]: partialKey };
  const id = plan.analysis;
  const mismatched = opts.tasks.find((t) => t.analysis !== id);
  if (mismatched) throw new Error(`task for chunk ${mismatched.chunk.index} belongs to '${mismatched.analysis}', not to the plan's '${id}'`);

  const topology = runTopology();
  const plotter = await parts.startPlotter({ out: opts.out, broker: address, topology, port: null, log });
  const session = openPublishSession(address, { name: `hzz-run ${id}`, retry: PUBLISH_RETRY, log });
  let outcome: BrokerRunResult;
  let leftovers: RunFailure[];
  try {
    plotter.on('partial', () => {
      const s = plotter.status(id);
      if (s?.chunks.total != null) opts.onProgress?.({ done: s.chunks.done, total: s.chunks.total });
    });
    await handOverPlan(plotter, plan, topology, session.publisher);
    const chunks = await runChunks(opts.tasks, {
      concurrency: opts.concurrency ?? availableParallelism(),
      attempt: async (task) => {
        const worker = await parts.runWorker(task, workerEnv, { publisher: session.publisher, exchanges: topology.exchanges, log });
        if (worker.code !== ExitCode.Published) throw failureError(failureKindOf(worker.code), worker.message);
      },
    });

    const { failures } = chunks;
    if (failures.length === 0) {
      await plotter.waitForComplete(id, PLOTTER_TIMEOUT_MS);
    } else {
      const published = opts.tasks.map((t) => t.chunk.index).filter((i) => !chunks.failedChunks.has(i));
      await plotter.waitForChunks(id, published, PLOTTER_TIMEOUT_MS);
      await plotter.flush(id);
    }
    const results = plotter.results(id)!;
    outcome = { results, dir: analysisDir(opts.out, id), complete: results.chunksDone === opts.plan.chunks, failures, retried: chunks.retried, topology };
  } finally {
    await plotter.stop();
    leftovers = await removeTopology(session, topology);
    await session.close();
  }
  return { ...outcome, failures: [...outcome.failures, ...leftovers] };
}

/** Deletes the run's broker objects; what it kept or could not delete, as failures that name it. */
async function removeTopology(session: PublishSession, topology: Topology): Promise<RunFailure[]> {
  try {
    const kept = await deleteTopology(await session.connection.current(), topology);
    return kept.map((k) => ({
      what: `dead letters in ${k.queue}`, kind: 'bad-input' as const,
      message: `the plotter refused ${k.messages} message(s) of this run; they are kept in queue ${k.queue} on the broker, each with its reason in header x-hzz-reason`,
    }));
  } catch (err) {
    return [{ what: 'broker clean-up', kind: 'transient', message: `could not delete this run's queues ${Object.values(topology.queues).join(', ')}: ${errorMessage(err)}` }];
  }
}

/** Publishes the plan and waits until the plotter has it (or refuses it, e.g. another plan under the same id). */
async function handOverPlan(plotter: RunPlotter, plan: Plan, topology: Topology, publisher: ConfirmPublisher): Promise<void> {
  const id = plan.analysis;
  const accepted = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`the plotter did not take the plan for '${id}' within ${PLOTTER_TIMEOUT_MS} ms`)); }, PLOTTER_TIMEOUT_MS);
    const onPlan = (planId: string): void => { if (planId === id) { cleanup(); resolve(); } };
    const onRejected = (e: Rejected): void => {
      if (e.queue === topology.queues.plans && e.analysis === id) { cleanup(); reject(new Error(`the plotter refused the plan: ${e.reason}`)); }
    };
    const cleanup = (): void => { clearTimeout(timer); plotter.off('plan', onPlan); plotter.off('rejected', onRejected); };
    plotter.on('plan', onPlan);
    plotter.on('rejected', onRejected);
  });
  const msg = planEnvelope(plan, topology.exchanges);
  await publisher.publish(msg.exchange, msg.routingKey, msg.body, msg.options);
  await accepted;
}
