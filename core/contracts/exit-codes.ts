import { errorKind, type FailureKind } from './errors.js';

/**
 * The worker's exit codes: the contract between a worker process and whoever runs it (the Job's
 * podFailurePolicy and the operator, or `hzz run --broker`). Whether a failed chunk is tried again
 * follows from the failure's kind (chunk-retry.ts).
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

/** The exit status for each kind of failure. */
const CODE_OF: Record<FailureKind, ExitCode> = { 'bad-input': ExitCode.BadInput, transient: ExitCode.Transient, crash: ExitCode.Crash };

/** Exit codes a retry cannot fix: a podFailurePolicy rule with action FailJob should list these. */
export const NON_RETRYABLE_EXIT_CODES: readonly number[] = [CODE_OF['bad-input']];

export function exitCodeFor(err: unknown): ExitCode {
  return CODE_OF[errorKind(err)];
}

/** The kind of failure an exit status reports (not for 0); any status not ours is a crash. */
export function failureKindOf(code: number): FailureKind {
  return code === ExitCode.BadInput ? 'bad-input' : code === ExitCode.Transient ? 'transient' : 'crash';
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
