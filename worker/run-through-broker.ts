import { availableParallelism } from 'node:os';
import { errorMessage } from '../core/errors.js';
import type { Plan, Task } from '../core/messages.js';
import type { Results } from '../core/results.js';
import { analysisDir } from '../plotter/analysis-id.js';
import { startPlotter, type Plotter, type RejectedEvent } from '../plotter/plotter.js';
import { brokerFromUrl, type BrokerAddress } from '../transport/broker-address.js';
import { planEnvelope } from '../transport/envelope.js';
import { silentLog, type Log } from '../transport/log.js';
import type { ConfirmPublisher } from '../transport/publisher.js';
import { QUEUES } from '../transport/topology.js';
import { openPublishSession } from './broker-session.js';
import { ExitCode, isRetryable } from './exit-codes.js';
import { runWorkerDetailed } from './run-worker.js';

/**
 * The whole pipeline on one machine, through a real broker (`hzz run --broker URL`): publish the
 * plan, run the chunks' workers in-process (the same runWorker a Job runs), let an in-process
 * plotter consume into the output folder, and return once the plotter has every chunk. It exercises
 * exactly the path the cluster takes, so a local run through the broker is a rehearsal of it.
 *
 * The plotter consumes the vhost's shared queues, so give a run a vhost of its own (or make sure no
 * other plotter consumes there), or partials will be split between the two.
 */
export interface BrokerRunOptions {
  plan: Plan;
  tasks: readonly Task[];
  /** amqp://user:password@host:port/vhost, or an address from brokerFromEnv(). */
  broker: string | BrokerAddress;
  /** Output root: the analysis lands in <out>/<plan.analysis>/. */
  out: string;
  /** Chunks analysed at once (default: the machine's cores). */
  concurrency?: number;
  /** Extra attempts for a chunk that failed with a retryable code (transient, crash); default 2. */
  retries?: number;
  /** Serve the plotter's HTTP endpoints while running (0: any free port); default: no server. */
  port?: number | null;
  /** How long one publish or connect keeps retrying before the chunk fails as transient; default 60 s. */
  retrySeconds?: number;
  /** How long to wait for the plotter to see every published chunk; default 5 min. */
  timeoutMs?: number;
  onProgress?: (p: { done: number; total: number }) => void;
  log?: Log;
}

export interface ChunkFailure {
  chunk: number;
  code: ExitCode;
  message: string;
}

export interface BrokerRunResult {
  results: Results;
  /** The analysis's output folder (hzz_m4l.png, histograms.json, histograms.csv, status.json, …). */
  dir: string;
  /** Every chunk of the plan is counted. */
  complete: boolean;
  /** Chunks whose worker did not publish, after retries. */
  failures: ChunkFailure[];
}

export async function runThroughBroker(opts: BrokerRunOptions): Promise<BrokerRunResult> {
  const log = opts.log ?? silentLog;
  const address = typeof opts.broker === 'string' ? brokerFromUrl(opts.broker) : opts.broker;
  const id = opts.plan.analysis;
  const mismatched = opts.tasks.find((t) => t.analysis !== id);
  if (mismatched) throw new Error(`task for chunk ${mismatched.chunk.index} belongs to '${mismatched.analysis}', not to the plan's '${id}'`);
  const retry = { initialMs: 200, maxMs: 5_000, budgetMs: (opts.retrySeconds ?? 60) * 1000 };

  const plotter = await startPlotter({ out: opts.out, broker: address, port: opts.port ?? null, log });
  const session = await openPublishSession(address, { name: `hzz-run ${id}`, retry, log });
  try {
    const progress = (): void => {
      const s = plotter.status(id);
      if (s?.chunks.total != null) opts.onProgress?.({ done: s.chunks.done, total: s.chunks.total });
    };
    plotter.on('partial', progress);

    await handOverPlan(plotter, opts.plan, session.publisher, opts.timeoutMs ?? 300_000);
    const failures = await runAll(opts.tasks, opts.concurrency ?? availableParallelism(), opts.retries ?? 2, (task) => runWorkerDetailed(task, {}, { publisher: session.publisher, log }), log);

    const timeout = opts.timeoutMs ?? 300_000;
    if (failures.length === 0) {
      await plotter.waitForComplete(id, timeout);
    } else {
      const failed = new Set(failures.map((f) => f.chunk));
      await plotter.waitForChunks(id, opts.tasks.map((t) => t.chunk.index).filter((i) => !failed.has(i)), timeout);
      await plotter.flush(id);
    }
    const results = plotter.results(id)!;
    return { results, dir: analysisDir(opts.out, id), complete: results.chunksDone === opts.plan.chunks, failures };
  } finally {
    await session.close();
    await plotter.stop();
  }
}

/** Publishes the plan and waits until the plotter has it (or refuses it, e.g. another plan under the same id). */
async function handOverPlan(plotter: Plotter, plan: Plan, publisher: ConfirmPublisher, timeoutMs: number): Promise<void> {
  const id = plan.analysis;
  const accepted = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`the plotter did not take the plan for '${id}' within ${timeoutMs} ms`)); }, timeoutMs);
    const onPlan = (planId: string): void => { if (planId === id) { cleanup(); resolve(); } };
    const onRejected = (e: RejectedEvent): void => {
      if (e.queue === QUEUES.plans && e.analysis === id) { cleanup(); reject(new Error(`the plotter refused the plan: ${e.reason}`)); }
    };
    const cleanup = (): void => { clearTimeout(timer); plotter.off('plan', onPlan); plotter.off('rejected', onRejected); };
    plotter.on('plan', onPlan);
    plotter.on('rejected', onRejected);
  });
  const msg = planEnvelope(plan);
  await publisher.publish(msg.exchange, msg.routingKey, msg.body, msg.options);
  await accepted;
}

/** Runs every task with bounded concurrency, retrying retryable failures; returns what still failed. */
async function runAll(
  tasks: readonly Task[],
  concurrency: number,
  retries: number,
  work: (t: Task) => Promise<{ code: ExitCode; message: string }>,
  log: Log,
): Promise<ChunkFailure[]> {
  const failures: ChunkFailure[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      for (let attempt = 0; ; attempt++) {
        let outcome: { code: ExitCode; message: string };
        try {
          outcome = await work(task);
        } catch (err) {
          outcome = { code: ExitCode.Crash, message: errorMessage(err) };
        }
        if (outcome.code === ExitCode.Published) break;
        if (!isRetryable(outcome.code) || attempt >= retries) {
          failures.push({ chunk: task.chunk.index, code: outcome.code, message: outcome.message });
          log('chunk failed', { chunk: task.chunk.index, code: outcome.code, error: outcome.message });
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tasks.length)) }, lane));
  return failures.sort((a, b) => a.chunk - b.chunk);
}
