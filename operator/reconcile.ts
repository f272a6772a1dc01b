import { isDeepStrictEqual } from 'node:util';
import { ChunkRetryRule, type RetryWait } from '../core/contracts/chunk-retry.js';
import { describeChunk, type Chunk, type Plan } from '../core/contracts/messages.js';
import {
  CONDITION_TYPES, resolveSpec, type AnalysisStatus, type Condition, type ConditionType, type HZZAnalysis, type Phase, type ResolvedSpec,
} from './api/v1alpha1.js';
import { formatRanges, parseRanges } from './chunk-ranges.js';
import { chunkStates, type AttemptFailure, type ChunkAttempt, type ChunkState } from './chunk-status.js';
import { chunkJob, type WorkerConfig } from './job-spec.js';
import type { Job, Secret } from './kube-types.js';
import { clusterAnalysisId } from '../core/contracts/analysis-id.js';
import { planSelector, plotPath } from './naming.js';
import { analysisPartialKey, partialKeySecret } from './partial-key.js';
import { planSpecHash, tasksOf, type PlanRecord, type StoredPlan } from './plan-store.js';

/**
 * The reconciler's decision, as a pure function: from the analysis, the Jobs and plan ConfigMaps
 * it controls, and the time, to the actions that move the world towards the spec. It reads no
 * clock and no API, so every rule below is tested without a cluster, and the controller that runs
 * it (controller.ts) only gathers the inputs and carries the actions out.
 *
 * The plan's lifecycle: no plan for the spec → `plan` (read headers, store a ConfigMap) → not yet
 * handed to the plotter → `publishPlan` → chunk Jobs, at most spec.parallelism active, retried up to
 * spec.retriesPerChunk unless the failure is final, until every chunk succeeded or failed for good.
 * A change to a field the plan depends on starts a new plan under the new generation; the old
 * plan's Jobs and ConfigMap are deleted. Other changes (parallelism, retries, image) act on the
 * running plan: `kubectl scale` never restarts work.
 *
 * The status records which chunks succeeded (`succeededChunks`, ranges of indices, as an Indexed
 * Job's completedIndexes); a succeeded chunk's Jobs are deleted once the status read back holds it,
 * so a finished analysis leaves only the Jobs of chunks that failed, and a large one never keeps
 * thousands of Jobs and pods in the API server (and in the operator's cache).
 */
export interface ReconcileConfig {
  worker: WorkerConfig;
  /** The wait before a failed chunk's next Job; spec.retriesPerChunk says how many there may be. */
  retryWait: Omit<RetryWait, 'jitter'>;
  /** Every analysis's partial key is derived from it and the analysis's uid (operator/partial-key.ts). */
  partialMasterKey: string;
}

export interface ReconcileInput {
  analysis: HZZAnalysis;
  /** Jobs controlled by the analysis, of any plan generation. */
  attempts: readonly ChunkAttempt[];
  /** Plan ConfigMaps controlled by the analysis. */
  plans: readonly PlanRecord[];
  config: ReconcileConfig;
  now: number;
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export type Action =
  | { type: 'deleteJob'; name: string }
  | { type: 'deleteConfigMap'; name: string }
  | { type: 'updateStatus'; status: AnalysisStatus }
  | { type: 'event'; event: EventSpec }
  | { type: 'plan'; generation: number; specHash: string }
  /** The plan as the plotter gets it: the stored one with the analysis's partialKey. */
  | { type: 'publishPlan'; configMap: string; plan: Plan }
  /** The analysis's partial key Secret, made to hold what it should before chunk Jobs that read it start. */
  | { type: 'ensurePartialKey'; secret: Secret }
  /** The event is emitted only if the Job was really created (not found to exist already). */
  | { type: 'createJob'; job: Job; event?: EventSpec };

export interface ReconcileResult {
  actions: Action[];
  /** Reconcile again after this long even if nothing changes (a retry's backoff running out). */
  requeueAfterMs?: number;
}

type ConditionDraft = Pick<Condition, 'status' | 'reason' | 'message'>;
type Counts = NonNullable<AnalysisStatus['chunks']>;

/** What a stage of the lifecycle decided: the status it observed and the work to do. */
interface Outcome {
  phase: Phase;
  chunks?: Counts;
  succeededChunks?: string;
  conditions: Record<ConditionType, ConditionDraft>;
  actions: Action[];
  requeueAfterMs?: number;
}

interface Context extends ReconcileInput {
  spec: ResolvedSpec;
  planGeneration: number;
  /** Attempts of the running plan. */
  mine: readonly ChunkAttempt[];
  plotPath: string;
  partialKey: string;
}

const healthy: ConditionDraft = { status: 'False', reason: 'NoFailures', message: 'no chunk has failed' };

export function reconcile(input: ReconcileInput): ReconcileResult {
  const { analysis } = input;
  // Deletion is the garbage collector's: every object the operator made has an owner reference.
  if (analysis.metadata.deletionTimestamp) return { actions: [] };
  const spec = resolveSpec(analysis.spec);
  const specHash = planSpecHash(spec);
  const current = currentPlan(input.plans, analysis.metadata.generation, specHash);
  const planGeneration = current?.generation ?? analysis.metadata.generation;
  const ctx: Context = {
    ...input, spec, planGeneration,
    mine: input.attempts.filter((a) => a.generation === planGeneration),
    plotPath: plotPath(clusterAnalysisId(analysis, planGeneration, spec.output)),
    partialKey: analysisPartialKey(analysis, input.config.partialMasterKey),
  };

  const outcome = !current ? planning(planGeneration, specHash)
    : 'error' in current ? planFailed(current.error)
      : !current.published ? publishing(current, ctx.partialKey)
        : running(ctx, current);

  const status = statusOf(ctx, outcome);
  const previous = analysis.status ?? {};
  const cleanup: Action[] = [
    ...input.plans.filter((p) => p.generation !== planGeneration).map((p): Action => ({ type: 'deleteConfigMap', name: p.configMap })),
    ...input.attempts.filter((a) => a.generation !== planGeneration && !a.deleting).map((a): Action => ({ type: 'deleteJob', name: a.job })),
  ];
  return {
    actions: [
      ...cleanup,
      ...(isDeepStrictEqual(previous, status) ? [] : [{ type: 'updateStatus', status } as const]),
      ...transitionEvents(previous, status, ctx).map((event): Action => ({ type: 'event', event })),
      ...outcome.actions,
    ],
    ...(outcome.requeueAfterMs === undefined ? {} : { requeueAfterMs: outcome.requeueAfterMs }),
  };
}

/**
 * The plan that runs: the newest stored one, if it was made for this generation or for a spec
 * that shapes the same plan (a scale or a retry-policy change leaves the hash alone).
 */
function currentPlan(plans: readonly PlanRecord[], generation: number, specHash: string): PlanRecord | undefined {
  const newest = plans.reduce<PlanRecord | undefined>((n, p) => (!n || p.generation > n.generation ? p : n), undefined);
  return newest && (newest.generation === generation || newest.specHash === specHash) ? newest : undefined;
}

function planning(generation: number, specHash: string): Outcome {
  return {
    phase: 'Planning',
    conditions: {
      Progressing: { status: 'True', reason: 'Planning', message: 'reading the headers of the selected files' },
      Ready: { status: 'False', reason: 'Planning', message: 'the plan is being made' },
      Degraded: healthy,
    },
    actions: [{ type: 'plan', generation, specHash }],
    // The plan is a ConfigMap, which no watch reports: look again as soon as it is stored.
    requeueAfterMs: 0,
  };
}

function planFailed(error: string): Outcome {
  const failed: ConditionDraft = { status: 'False', reason: 'PlanFailed', message: error };
  return { phase: 'Failed', conditions: { Progressing: failed, Ready: failed, Degraded: { ...failed, status: 'True' } }, actions: [] };
}

function publishing(plan: PlanRecord & StoredPlan, partialKey: string): Outcome {
  return {
    phase: 'Planning',
    chunks: { total: plan.plan.chunks, succeeded: 0, failed: 0, running: 0, pending: plan.plan.chunks },
    conditions: {
      Progressing: { status: 'True', reason: 'PublishingPlan', message: `handing the plan (${plan.plan.chunks} chunks) to the plotter` },
      Ready: { status: 'False', reason: 'Planning', message: 'the plan is not with the plotter yet' },
      Degraded: healthy,
    },
    // The ConfigMap holds the plan without its key: a ConfigMap is no place for a secret.
    actions: [{ type: 'publishPlan', configMap: plan.configMap, plan: { ...plan.plan, partialKey } }],
    requeueAfterMs: 0,
  };
}

function running(ctx: Context, stored: StoredPlan): Outcome {
  const { spec, mine, now } = ctx;
  const tasks = tasksOf(stored);
  const previous = ctx.analysis.status;
  const recorded = (previous?.planGeneration === ctx.planGeneration && previous.succeededChunks !== undefined
    ? parseRanges(previous.succeededChunks, tasks.length) : undefined) ?? new Set<number>();
  const states = chunkStates(tasks.length, mine, new ChunkRetryRule(spec.retriesPerChunk, { ...ctx.config.retryWait, jitter: false }), recorded);
  const succeededChunks = formatRanges(states.flatMap((s, i) => (s.kind === 'succeeded' ? [i] : [])));
  // Only what the stored status already holds: a chunk recorded by this reconcile's own status
  // write loses its Jobs on the next one, after that write has landed.
  const recordedDone = mine.filter((a) => a.state !== 'active' && !a.deleting && recorded.has(a.chunk)).map((a): Action => ({ type: 'deleteJob', name: a.job }));
  const failures = states.flatMap((s, i) => (s.kind === 'failed' ? [{ index: i, attempts: s.attempts, last: s.last }] : []));
  const count = (kind: ChunkState['kind']): number => states.filter((s) => s.kind === kind).length;
  const succeeded = count('succeeded');
  const failed = failures.length;
  const failureText = failures
    .slice(0, 3)
    .map((f) => `${describeChunk(tasks[f.index]!.chunk)} failed after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}: ${f.last.message}`)
    .join('; ') + (failed > 3 ? `; and ${failed - 3} more` : '');
  const degraded: ConditionDraft = failed === 0 ? healthy : { status: 'True', reason: 'ChunksFailed', message: failureText };

  if (failed > spec.maxFailedChunks) {
    const message = `${failed} chunk${failed === 1 ? '' : 's'} failed, more than maxFailedChunks (${spec.maxFailedChunks}): ${failureText}`;
    const stop: ConditionDraft = { status: 'False', reason: 'TooManyFailedChunks', message };
    return {
      phase: 'Failed',
      chunks: { total: tasks.length, succeeded, failed, running: 0, pending: tasks.length - succeeded - failed },
      succeededChunks,
      conditions: { Progressing: stop, Ready: stop, Degraded: { ...stop, status: 'True' } },
      // The analysis cannot succeed any more: running attempts are wasted work.
      actions: [...recordedDone, ...mine.filter((a) => a.state === 'active' && !a.deleting).map((a): Action => ({ type: 'deleteJob', name: a.job }))],
    };
  }

  if (succeeded + failed === tasks.length) {
    const done = `${succeeded}/${tasks.length} chunks in; the plot is at ${ctx.plotPath} on the plotter's volume`;
    return {
      phase: 'Succeeded',
      chunks: { total: tasks.length, succeeded, failed, running: 0, pending: 0 },
      succeededChunks,
      conditions: {
        Progressing: { status: 'False', reason: 'Succeeded', message: done },
        Ready: { status: 'True', reason: 'Succeeded', message: done },
        Degraded: degraded,
      },
      actions: recordedDone,
    };
  }

  const active = count('running');
  const due = states.flatMap((s, i) => (s.kind === 'pending' || (s.kind === 'retrying' && s.dueAt <= now) ? [i] : []));
  const starting = due.slice(0, Math.max(0, spec.parallelism - active));
  const creates = starting.map((i): Action => {
    const s = states[i]!;
    const attempt = s.kind === 'retrying' ? s.attempt : 0;
    const job = chunkJob({ analysis: ctx.analysis, spec, generation: ctx.planGeneration, task: tasks[i]!, attempt, recipe: stored.recipe, config: ctx.config.worker });
    return s.kind === 'retrying' ? { type: 'createJob', job, event: retryEvent(tasks[i]!.chunk, attempt, spec.retriesPerChunk, s.last) } : { type: 'createJob', job };
  });
  const waits = states.flatMap((s) => (s.kind === 'retrying' && s.dueAt > now ? [s.dueAt - now] : []));
  const runningNow = active + starting.length;
  const started = mine.length > 0 || starting.length > 0;
  const progress = `${succeeded}/${tasks.length} chunks done, ${runningNow} running`;
  return {
    phase: started ? 'Running' : 'Pending',
    chunks: { total: tasks.length, succeeded, failed, running: runningNow, pending: tasks.length - succeeded - failed - runningNow },
    succeededChunks,
    conditions: {
      Progressing: spec.parallelism === 0
        ? { status: 'False', reason: 'Paused', message: `spec.parallelism is 0: no chunk Job starts (${progress})` }
        : { status: 'True', reason: 'ChunksRunning', message: progress },
      Ready: { status: 'False', reason: 'ChunksPending', message: `${succeeded}/${tasks.length} chunks done` },
      Degraded: degraded,
    },
    actions: [...recordedDone, ...(creates.length > 0 ? [{ type: 'ensurePartialKey', secret: partialKeySecret(ctx.analysis, ctx.partialKey) } as const] : []), ...creates],
    ...(waits.length > 0 ? { requeueAfterMs: Math.min(...waits) } : {}),
  };
}

function retryEvent(chunk: Chunk, attempt: number, retries: number, last: AttemptFailure): EventSpec {
  return { type: 'Warning', reason: 'RetryingChunk', message: `${describeChunk(chunk)}: attempt ${attempt + 1} of ${retries + 1} after ${last.message}` };
}

function statusOf(ctx: Context, outcome: Outcome): AnalysisStatus {
  const { analysis, planGeneration, now } = ctx;
  const previous = analysis.status?.conditions ?? [];
  const generation = analysis.metadata.generation;
  const stamp = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    observedGeneration: generation,
    planGeneration,
    phase: outcome.phase,
    ...(outcome.chunks ? { chunks: outcome.chunks, progress: `${outcome.chunks.succeeded}/${outcome.chunks.total}` } : {}),
    ...(outcome.succeededChunks ? { succeededChunks: outcome.succeededChunks } : {}),
    running: outcome.chunks?.running ?? 0,
    selector: planSelector(analysis.metadata.name, planGeneration),
    output: { path: ctx.plotPath },
    conditions: CONDITION_TYPES.map((type): Condition => {
      const draft = outcome.conditions[type];
      const before = previous.find((c) => c.type === type);
      // The transition time moves only when the condition's status does, as metav1.Condition's contract says.
      const lastTransitionTime = before && before.status === draft.status ? before.lastTransitionTime : stamp;
      return { type, ...draft, observedGeneration: generation, lastTransitionTime };
    }),
  };
}

/** Kubernetes Events for what a person watching `kubectl describe` wants to know happened. */
function transitionEvents(before: AnalysisStatus, after: AnalysisStatus, ctx: Context): EventSpec[] {
  const events: EventSpec[] = [];
  const message = (type: ConditionType): string => after.conditions!.find((c) => c.type === type)!.message;
  if (before.planGeneration !== undefined && before.planGeneration !== after.planGeneration) {
    events.push({ type: 'Normal', reason: 'Replanning', message: `the spec changed: plan g${after.planGeneration} replaces g${before.planGeneration}, whose Jobs are deleted` });
  }
  const samePlan = before.planGeneration === after.planGeneration;
  if (before.phase !== after.phase || !samePlan) {
    if ((after.phase === 'Running' || after.phase === 'Pending') && (before.phase === 'Planning' || before.phase === undefined || !samePlan)) {
      events.push({ type: 'Normal', reason: 'Planned', message: `${after.chunks?.total} chunks; plan ${clusterAnalysisId(ctx.analysis, ctx.planGeneration, ctx.spec.output)} handed to the plotter` });
    }
    if (after.phase === 'Succeeded') events.push({ type: 'Normal', reason: 'Succeeded', message: message('Ready') });
    if (after.phase === 'Failed') events.push({ type: 'Warning', reason: 'Failed', message: message('Degraded') });
  }
  if (samePlan && after.phase !== 'Failed' && (after.chunks?.failed ?? 0) > (before.chunks?.failed ?? 0)) {
    events.push({ type: 'Warning', reason: 'ChunkFailed', message: message('Degraded') });
  }
  return events;
}
