/**
 * Exponential backoff with jitter. The jitter matters more than the curve: after a broker restart
 * every worker and the plotter reconnect at once, and without it they would all retry in lockstep.
 */
export interface Backoff {
  /** First delay, before jitter. */
  initialMs: number;
  /** Ceiling for one delay. */
  maxMs: number;
  /** Total time to keep trying before giving up; Infinity for a long-running service. */
  budgetMs: number;
}

export const SERVICE_BACKOFF: Backoff = { initialMs: 250, maxMs: 10_000, budgetMs: Infinity };

/** "Equal jitter": half the exponential step is kept, so delays still grow; the other half is random. */
export function backoffDelay(attempt: number, policy: Pick<Backoff, 'initialMs' | 'maxMs'>, random: () => number = Math.random): number {
  const step = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return step / 2 + random() * (step / 2);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
