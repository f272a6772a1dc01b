/**
 * Errors that carry intent, so every entry point can decide without string matching whether to
 * retry: bad input never gets better by retrying, a transient failure may.
 * The worker's exit codes (docs/contracts.md) are derived from these kinds.
 */
export type ErrorKind = 'bad-input' | 'transient';

/** What a failure was: one of the kinds above, or a crash (anything unexpected, a killed process). */
export type FailureKind = ErrorKind | 'crash';

export class AnalysisError extends Error {
  constructor(
    readonly kind: ErrorKind,
    /** The file, URL, field or message the problem is about ('' when the message names it already). */
    readonly subject: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(subject ? `${subject}: ${message}` : message, options);
    this.name = kind === 'bad-input' ? 'BadInputError' : 'TransientError';
  }
}

export const badInput = (subject: string, message: string, cause?: unknown): AnalysisError =>
  new AnalysisError('bad-input', subject, message, cause === undefined ? undefined : { cause });

export const transient = (subject: string, message: string, cause?: unknown): AnalysisError =>
  new AnalysisError('transient', subject, message, cause === undefined ? undefined : { cause });

/** A failure another process reported as its kind and message, as an error of that kind again. */
export function failureError(kind: FailureKind, message: string): Error {
  return kind === 'crash' ? new Error(message) : new AnalysisError(kind, '', message);
}

export function errorKind(err: unknown): FailureKind {
  return err instanceof AnalysisError ? err.kind : 'crash';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
