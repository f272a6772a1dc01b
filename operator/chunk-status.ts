import type { ChunkRetryRule } from '../core/contracts/chunk-retry.js';
import type { FailureKind } from '../core/contracts/errors.js';
import { describeExitCode, failureKindOf } from '../core/contracts/exit-codes.js';
import { WORKER_CONTAINER } from './job-spec.js';
import type { Job, Pod } from './kube-types.js';
import { LABELS } from './naming.js';

/**
 * What the Jobs say about the chunks. The status never lists chunks; each chunk's state is
 * recomputed from its Jobs on every reconcile (one Job per attempt, named and labelled by chunk and
 * attempt), so nothing about a chunk has to be remembered anywhere else.
 */
export interface AttemptFailure {
  /** Bad input (exit 2, or the Job's podFailurePolicy said so) is never retried. */
  kind: FailureKind;
  /** Exit code and the worker's termination message, e.g. "exit 2: bad input: …: not a ROOT file". */
  message: string;
}

export interface ChunkAttempt {
  job: string;
  generation: number;
  chunk: number;
  attempt: number;
  /** The chunk's run (labels.round): a run again starts its attempts from 0. */
  round: number;
  state: 'active' | 'succeeded' | 'failed';
  /** When a failed attempt ended (ms since the epoch): retries wait from there. */
  finishedAt?: number;
  failure?: AttemptFailure;
  deleting: boolean;
}

const conditionTrue = (job: Job, type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === 'True');

/**
 * What observeJob reads of a Job, and so all the operator's cache keeps of one: its identity,
 * labels, owner and conditions. The pod template (the task's JSON among it) and managed fields are
 * most of a Job's size, and would make the cache grow by kilobytes a chunk.
 */
export function jobSummary(job: Job): Job {
  const { name, namespace, uid, resourceVersion, deletionTimestamp, labels, ownerReferences } = job.metadata;
  return {
    metadata: { name, namespace, uid, resourceVersion, deletionTimestamp, labels, ownerReferences },
    ...(job.status ? { status: { conditions: job.status.conditions } } : {}),
  };
}

/** Only a failed attempt needs its pods read (for the exit code and message). */
export const jobFailed = (job: Job): boolean => conditionTrue(job, 'Failed') !== undefined;

/** One Job as a chunk attempt; `pods` may hold any pods, those of this Job are picked by owner. */
export function observeJob(job: Job, pods: readonly Pod[]): ChunkAttempt | undefined {
  const labels = job.metadata.labels ?? {};
  const [generation, chunk, attempt] = [LABELS.generation, LABELS.chunk, LABELS.attempt].map((l) => Number(labels[l] ?? NaN));
  // Jobs made before runs again existed carry no round: their chunk's first run.
  const round = Number(labels[LABELS.round] ?? 0);
  if (![generation, chunk, attempt, round].every((n) => Number.isInteger(n) && n! >= 0)) return undefined;
  const base = { job: job.metadata.name, generation: generation!, chunk: chunk!, attempt: attempt!, round, deleting: Boolean(job.metadata.deletionTimestamp) };
  if (conditionTrue(job, 'Complete')) return { ...base, state: 'succeeded' };
  const failed = conditionTrue(job, 'Failed');
  if (!failed) return { ...base, state: 'active' };
  const finished = Date.parse(failed.lastTransitionTime ?? '');
  return {
    ...base,
    state: 'failed',
    ...(Number.isFinite(finished) ? { finishedAt: finished } : {}),
    failure: failureOf(job, failed.reason, failed.message, pods),
  };
}

/**
 * Why an attempt failed, from its pod's container state (exit code and termination message) when
 * the pod is still there; the Job's condition otherwise, whose reason PodFailurePolicy means the
 * non-retryable exit-code rule fired.
 */
function failureOf(job: Job, reason: string | undefined, conditionMessage: string | undefined, pods: readonly Pod[]): AttemptFailure {
  const terminated = pods
    .filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === job.metadata.uid))
    .map((p) => p.status?.containerStatuses?.find((c) => c.name === WORKER_CONTAINER)?.state?.terminated)
    .filter((t) => t !== undefined && t.exitCode !== 0)
    .sort((a, b) => (a!.finishedAt ?? '').localeCompare(b!.finishedAt ?? ''))
    .at(-1);
  const byPolicy = reason === 'PodFailurePolicy';
  if (!terminated) return { kind: byPolicy ? 'bad-input' : 'crash', message: conditionMessage || reason || 'the Job failed' };
  const text = terminated.message?.trim() || describeExitCode(terminated.exitCode);
  return { kind: byPolicy ? 'bad-input' : failureKindOf(terminated.exitCode), message: `exit ${terminated.exitCode}: ${text}` };
}

export type ChunkState =
  | { kind: 'pending' }
  | { kind: 'running'; attempt: number }
  | { kind: 'succeeded' }
  | { kind: 'retrying'; attempt: number; dueAt: number; last: AttemptFailure }
  | { kind: 'failed'; attempts: number; last: AttemptFailure };

/** The chunks that run again because the plotter lacked their partials, and which run that is. */
export interface RerunRound {
  round: number;
  chunks: ReadonlySet<number>;
}

/**
 * Each chunk's state, from the attempts of one plan and the chunks the status already records as
 * succeeded (whose Jobs may be gone). Only one run of a chunk counts: for a chunk of the latest
 * round of runs again, that round's attempts (its earlier Jobs succeeded, but the plotter never got
 * their partial); for any other chunk, its latest run's.
 */
export function chunkStates(
  total: number, attempts: readonly ChunkAttempt[], retry: ChunkRetryRule, recorded: ReadonlySet<number> = new Set(), rerun?: RerunRound,
): ChunkState[] {
  const byChunk = new Map<number, ChunkAttempt[]>();
  for (const a of attempts) {
    if (a.chunk >= total) continue;
    const list = byChunk.get(a.chunk);
    if (list) list.push(a);
    else byChunk.set(a.chunk, [a]);
  }
  // Called on every reconcile for every chunk, mostly ones without Jobs (done or not started):
  // those share one state object, so a reconcile's garbage grows with the Jobs, not the chunks.
  return Array.from({ length: total }, (_, i): ChunkState => {
    if (recorded.has(i)) return SUCCEEDED;
    const all = byChunk.get(i);
    if (!all) return PENDING;
    const round = rerun?.chunks.has(i) ? rerun.round : all.reduce((r, a) => Math.max(r, a.round), 0);
    const mine = all.filter((a) => a.round === round);
    if (mine.some((a) => a.state === 'succeeded')) return SUCCEEDED;
    const latest = mine.reduce<ChunkAttempt | undefined>((l, a) => (!l || a.attempt > l.attempt ? a : l), undefined);
    if (!latest) return PENDING;
    if (latest.state === 'active') return { kind: 'running', attempt: latest.attempt };
    const last = latest.failure!;
    const wait = retry.delayAfter(latest.attempt, last.kind);
    if (wait === undefined) return { kind: 'failed', attempts: latest.attempt + 1, last };
    return { kind: 'retrying', attempt: latest.attempt + 1, dueAt: (latest.finishedAt ?? 0) + wait, last };
  });
}

const SUCCEEDED: ChunkState = Object.freeze({ kind: 'succeeded' });
const PENDING: ChunkState = Object.freeze({ kind: 'pending' });
