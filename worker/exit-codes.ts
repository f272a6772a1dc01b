import { errorKind } from '../core/errors.js';

/**
 * The worker's exit codes: the contract between a worker process and whoever runs it (the Job's
 * podFailurePolicy and the operator, or the local runner). The operator imports this module rather
 * than repeating the numbers.
 *
 *   0  the partial was published and the broker confirmed it
 *   1  crash: anything unexpected; retried
 *   2  bad input (not ROOT, missing file/tree/branch, bad entry range, invalid task): nothing was
 *      published, and retrying cannot help
 *   3  transient (network, broker unreachable after the retry budget): retried
 */
export const ExitCode = {
  Published: 0,
  Crash: 1,
  BadInput: 2,
  Transient: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Exit codes a retry cannot fix: a podFailurePolicy rule with action FailJob should list these. */
export const NON_RETRYABLE_EXIT_CODES: readonly number[] = [ExitCode.BadInput];

export function exitCodeFor(err: unknown): ExitCode {
  switch (errorKind(err)) {
    case 'bad-input': return ExitCode.BadInput;
    case 'transient': return ExitCode.Transient;
    default: return ExitCode.Crash;
  }
}

/** Any exit status, including ones from outside our code (137 = SIGKILL/OOM), in words. */
export function describeExitCode(code: number): string {
  switch (code) {
    case ExitCode.Published: return 'published';
    case ExitCode.Crash: return 'crash';
    case ExitCode.BadInput: return 'bad input';
    case ExitCode.Transient: return 'transient failure';
    default: return code > 128 ? `killed by signal ${code - 128}` : `crash (exit ${code})`;
  }
}

export function isRetryable(code: number): boolean {
  return code !== ExitCode.Published && !NON_RETRYABLE_EXIT_CODES.includes(code);
}
