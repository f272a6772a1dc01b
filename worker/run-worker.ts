import { hostname } from 'node:os';
import { analyzeChunk, toPartial } from '../core/analyze-chunk.js';
import { errorMessage } from '../core/contracts/errors.js';
import { exitCodeFor, ExitCode } from '../core/contracts/exit-codes.js';
import { PARTIAL_KEY_ENV, signPartial } from '../core/contracts/partial-signature.js';
import { TaskSchema, type Task } from '../core/contracts/messages.js';
import { checked } from '../core/schema-check.js';
import type { Backoff } from '../core/util/backoff.js';
import { silentLog, type Log } from '../core/util/log.js';
import { brokerFromEnv } from '../transport/broker-address.js';
import { partialEnvelope } from '../transport/envelope.js';
import { openPublishSession } from '../transport/publish-session.js';
import type { ConfirmPublisher } from '../transport/publisher.js';
import type { Topology } from '../transport/topology.js';

/**
 * One chunk, start to finish: validate the task, analyse the chunk, publish its partial and wait
 * for the broker's confirm. The chunk is analysed before the broker is contacted, so bad input is
 * found without a broker and nothing is ever published for it.
 */
export interface WorkerDeps {
  /** Publish through this instead of opening a connection from the environment (the local runner). */
  publisher?: ConfirmPublisher;
  /** The exchanges to publish to: a local run's own (transport/topology.ts runTopology); by default the installation's. */
  exchanges?: Topology['exchanges'];
  log?: Log;
}

export interface WorkerOutcome {
  code: ExitCode;
  /** What happened, in words: the error for a failure. */
  message: string;
  /** The chunk's index when the task was valid. */
  chunk?: number;
}

export async function runWorker(input: unknown, env: NodeJS.ProcessEnv = process.env, deps: WorkerDeps = {}): Promise<WorkerOutcome> {
  const log = deps.log ?? silentLog;
  let task: Task | undefined;
  try {
    task = checked(TaskSchema, input, 'task');
    const started = Date.now();
    const h = await analyzeChunk(task);
    const key = env[PARTIAL_KEY_ENV];
    const partial = toPartial(task, h);
    const msg = partialEnvelope(key ? signPartial(partial, key) : partial, deps.exchanges);
    if (deps.publisher) {
      await deps.publisher.publish(msg.exchange, msg.routingKey, msg.body, msg.options);
    } else {
      const session = openPublishSession(brokerFromEnv(env), {
        name: `hzz-worker ${hostname()} ${task.analysis}#c${task.chunk.index}`,
        retry: workerBackoff(env),
        log,
      });
      try {
        await session.publisher.publish(msg.exchange, msg.routingKey, msg.body, msg.options);
      } finally {
        await session.close();
      }
    }
    const message = `chunk ${task.chunk.index} published: ${h.nRead} read, ${h.nSelected} selected`;
    log('published', { analysis: task.analysis, chunk: task.chunk.index, nRead: h.nRead, nSelected: h.nSelected, ms: Date.now() - started });
    return { code: ExitCode.Published, message, chunk: task.chunk.index };
  } catch (err) {
    const code = exitCodeFor(err);
    const message = errorMessage(err);
    log('failed', { analysis: task?.analysis, chunk: task?.chunk.index, code, error: message });
    return { code, message, ...(task ? { chunk: task.chunk.index } : {}) };
  }
}

const DEFAULT_RETRY_SECONDS = 60;

/** The worker's patience with the broker, from HZZ_AMQP_RETRY_SECONDS (default 60). */
function workerBackoff(env: NodeJS.ProcessEnv = process.env): Backoff {
  const text = env.HZZ_AMQP_RETRY_SECONDS;
  const seconds = text === undefined || text === '' ? DEFAULT_RETRY_SECONDS : Number(text);
  if (!(Number.isFinite(seconds) && seconds >= 0)) throw new Error(`HZZ_AMQP_RETRY_SECONDS must be a number of seconds (got '${text}')`);
  return { initialMs: 200, maxMs: 5_000, budgetMs: seconds * 1000 };
}
