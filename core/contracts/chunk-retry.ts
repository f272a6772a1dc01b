import { backoffDelay, sleep } from '../util/backoff.js';
import { errorKind, type FailureKind } from './errors.js';

/**
 * When a failed chunk is tried again: one rule for `hzz run`, `hzz run --broker` and the operator
 * (docs/contracts.md). Bad input never is (the same chunk fails the same way every time); a
 * transient failure or a crash is, up to `retries` more attempts, each after a wait that doubles per
 * attempt up to a ceiling. The entry points differ only in the numbers they give the rule. The
 * operator's has no jitter: its reconcile is a pure function of when the last attempt ended.
 */
export interface RetryWait {
  /** The wait after the first failed attempt; it doubles per attempt. */
  initialMs: number;
  maxMs: number;
  /** Wait a random time between half the step and the whole step, so chunks that failed together do not retry together. */
  jitter: boolean;
}

export class ChunkRetryRule {
  constructor(
    /** Attempts after the first. */
    readonly retries: number,
    /** How long to wait before each retry; none: at once. */
    private readonly wait?: RetryWait,
  ) {}

  /**
   * Milliseconds to wait before trying again after attempt `attempt` (0 is the first) failed with
   * `kind`; undefined when that was the chunk's last attempt.
   */
  delayAfter(attempt: number, kind: FailureKind, random: () => number = Math.random): number | undefined {
    if (kind === 'bad-input' || attempt >= this.retries) return undefined;
    if (!this.wait) return 0;
    return backoffDelay(attempt, this.wait, this.wait.jitter ? random : () => 1);
  }
}

/**
 * `attempt`, tried again as `rule` says for the kind of error it fails with; `onRetry` hears of each
 * failure that is retried (so that a run can report what it got over), the last error is thrown.
 */
export async function withRetries<T>(rule: ChunkRetryRule, attempt: () => Promise<T>, onRetry?: (err: unknown) => void): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const wait = rule.delayAfter(n, errorKind(err));
      if (wait === undefined) throw err;
      onRetry?.(err);
      await sleep(wait);
    }
  }
}
