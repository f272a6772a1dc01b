import { ChunkRetryRule, withRetries } from '../core/contracts/chunk-retry.js';
import { errorKind, errorMessage } from '../core/contracts/errors.js';
import { describeChunk, type Task } from '../core/contracts/messages.js';
import type { RunFailure } from './run-report.js';

/**
 * The chunks of a run, with or without a broker: each is attempted, and tried again when the
 * chunk retry rule says so; a chunk that still fails is reported, never dropped, and the others go
 * on. Two retries, the first after 0.2–0.4 s: enough for a web server's hiccup, short for a person
 * waiting at a terminal.
 */
export const HZZ_RUN_RETRY = new ChunkRetryRule(2, { initialMs: 400, maxMs: 5_000, jitter: true });

export interface ChunkRuns<T> {
  /** What each chunk that succeeded gave, in the order they finished. */
  values: T[];
  /** The chunks that failed for good, in chunk order. */
  failures: RunFailure[];
  failedChunks: ReadonlySet<number>;
  /** Every attempt that failed and was tried again, in the order they failed. */
  retried: RunFailure[];
}

export async function runChunks<T>(tasks: readonly Task[], opts: {
  /** Chunks attempted at once. */
  concurrency: number;
  attempt: (task: Task) => Promise<T>;
  /** After each chunk's last attempt, successful or not. */
  onSettled?: () => void;
}): Promise<ChunkRuns<T>> {
  const values: T[] = [];
  const failures: (RunFailure & { index: number })[] = [];
  const retried: RunFailure[] = [];
  const failure = (task: Task, err: unknown): RunFailure => ({ what: describeChunk(task.chunk), kind: errorKind(err), message: errorMessage(err) });
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      try {
        values.push(await withRetries(HZZ_RUN_RETRY, () => opts.attempt(task), (err) => retried.push(failure(task, err))));
      } catch (err) {
        failures.push({ index: task.chunk.index, ...failure(task, err) });
      }
      opts.onSettled?.();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, tasks.length)) }, lane));
  failures.sort((a, b) => a.index - b.index);
  return { values, failures: failures.map(({ what, kind, message }) => ({ what, kind, message })), failedChunks: new Set(failures.map((f) => f.index)), retried };
}
