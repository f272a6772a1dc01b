import { ChunkRetryRule } from '../core/contracts/chunk-retry.js';
import { errorKind, errorMessage } from '../core/contracts/errors.js';
import { describeChunk, type Task } from '../core/contracts/messages.js';
import { sleep } from '../core/util/backoff.js';
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
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      try {
        values.push(await withRetries(() => opts.attempt(task)));
      } catch (err) {
        failures.push({ index: task.chunk.index, what: describeChunk(task.chunk), kind: errorKind(err), message: errorMessage(err) });
      }
      opts.onSettled?.();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, tasks.length)) }, lane));
  failures.sort((a, b) => a.index - b.index);
  return { values, failures: failures.map(({ what, kind, message }) => ({ what, kind, message })), failedChunks: new Set(failures.map((f) => f.index)) };
}

async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const wait = HZZ_RUN_RETRY.delayAfter(n, errorKind(err));
      if (wait === undefined) throw err;
      await sleep(wait);
    }
  }
}
