import { basename } from 'node:path';
import { transient } from '../contracts/errors.js';

/**
 * How long one read of a ROOT file may take before it counts as a stalled source: a server that
 * accepts the connection (or answers the header) and then sends nothing would otherwise hold a run,
 * or one of the operator's reconcile workers, forever. A read past its deadline is a transient
 * failure (the chunk retry rule tries it again) whose message names the file, the stage and the
 * source, so that whoever waits knows what to look at.
 *
 * HZZ_READ_TIMEOUT_SECONDS sets it (default 30): long enough for a basket of a few MB over a slow
 * link, short for a person at a terminal. It is read where the read happens, so chunk processes and
 * worker pods take it from their environment too.
 */
export const DEFAULT_READ_TIMEOUT_SECONDS = 30;

export function readTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.HZZ_READ_TIMEOUT_SECONDS;
  if (text === undefined || text === '') return DEFAULT_READ_TIMEOUT_SECONDS * 1000;
  const seconds = Number(text);
  if (!(Number.isFinite(seconds) && seconds > 0)) throw new Error(`HZZ_READ_TIMEOUT_SECONDS must be a positive number of seconds (got '${text}')`);
  return seconds * 1000;
}

/** What a read was doing, as its deadline message says it: "opening", "reading baskets", … */
export type ReadStage = 'opening' | 'reading the header' | `reading tree '${string}'` | 'reading baskets';

/** `work`, or a transient error once `ms` have passed without it settling. */
export async function withDeadline<T>(work: Promise<T>, url: string, stage: ReadStage, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(deadlineError(url, stage, ms)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export function deadlineError(url: string, stage: ReadStage, ms: number): Error {
  return transient('', `${stage} of ${basename(url)}: no answer from ${url} within ${ms / 1000} s`);
}
