import { isDeepStrictEqual } from 'node:util';
import { ChunkRetryRule, type RetryWait } from '../core/contracts/chunk-retry.js';
import { describeChunk, type Chunk, type Plan } from '../core/contracts/messages.js';
import {
  CONDITION_TYPES, resolveSpec, type AnalysisStatus, type Condition, type ConditionType, type HZZAnalysis, type Phase, type ResolvedSpec,
} from './api/v1alpha1.js';
import { formatRanges, parseRanges } from '../core/chunk-ranges.js';
import { chunkStates, type AttemptFailure, type ChunkAttempt, type ChunkState } from './chunk-status.js';
import type { PlotterStatus } from '../core/contracts/plotter-status.js';
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
 *
 * A Job that exited 0 has handed its partial to the broker, not to the plotter: another consumer
 * on the vhost can take it. So once every chunk's Job is done, the plotter's own count decides
 * (`plotter`, asked by the controller only then): Succeeded when it holds every succeeded chunk and
 * has drawn; chunks it still lacks after `partialsGraceMs` without a change run again, in rounds
 * (status.plotter), at most spec.retriesPerChunk rounds, then the analysis fails.
 */
export interface ReconcileConfig {
  worker: WorkerConfig;
  /** The wait before a failed chunk's next Job; spec.retriesPerChunk says how many there may be. */
  retryWait: Omit<RetryWait, 'jitter'>;
  /** Every analysis's partial key is derived from it and the analysis's uid (operator/partial-key.ts). */
  partialMasterKey: string;
  /**
   * How long the plotter's answer may stay the same while it lacks chunks whose Jobs succeeded
   * before those chunks run again: their partials may still be queued behind others.
   */
  partialsGraceMs: number;
}

/** What the plotter said of the analysis when asked. */
export type PlotterObservation =
  | { kind: 'status'; status: PlotterStatus }
  /** It holds neither plan nor partial of the analysis (404). */
  | { kind: 'unknown' }
  /** No answer, an error, or an answer that is not a status: the plotter is down or not itself. */
  | { kind: 'unreachable'; error: string };

export interface ReconcileInput {
  analysis: HZZAnalysis;
  /** Jobs controlled by the analysis, of any plan generation. */
  attempts: readonly ChunkAttempt[];
  /** Plan ConfigMaps controlled by the analysis. */
  plans: readonly PlanRecord[];
  config: ReconcileConfig;
  now: number;
  /** The plotter's answer; undefined when not asked (the result's asksPlotter says when to). */
  plotter?: PlotterObservation | undefined;
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
  /**
   * Every chunk's Job is done and the plotter's count decides what comes next: reconcile again
   * with its answer about this analysis id.
   */
  asksPlotter?: string;
}

type ConditionDraft = Pick<Condition, 'status' | 'reason' | 'message'>;
type Counts = NonNullable<AnalysisStatus['chunks']>;
type PlotterView = NonNullable<AnalysisStatus['plotter']>;

/** What a stage of the lifecycle decided: the status it observed and the work to do. */
interface Outcome {
  phase: Phase;
  chunks?: Counts;
  succeededChunks?: string;
  plotter?: PlotterView | undefined;
  conditions: Record<ConditionType, ConditionDraft>;
  actions: Action[];
  requeueAfterMs?: number;
  asksPlotter?: boolean;
}

interface Context extends ReconcileInput {
  spec: ResolvedSpec;
  planGeneration: number;
  /** Attempts of the running plan. */
  mine: readonly ChunkAttempt[];
  /** The running plan's analysis id, as the plotter knows it. */
  id: string;
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
  const id = clusterAnalysisId(analysis, planGeneration, spec.output);
  const ctx: Context = {
    ...input, spec, planGeneration, id,
    mine: input.attempts.filter((a) => a.generation === planGeneration),
    plotPath: plotPath(id),
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
    ...(outcome.asksPlotter ? { asksPlotter: id } : {}),
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

function running(ctx: Context, current: PlanRecord & StoredPlan): Outcome {
  const previous = ctx.analysis.status;
  const samePlan = previous?.planGeneration === ctx.planGeneration;
  const total = current.plan.chunks;
  const recorded = (samePlan && previous.succeededChunks !== undefined ? parseRanges(previous.succeededChunks, total) : undefined) ?? new Set<number>();
  return runChunks(ctx, current, recorded, samePlan ? previous.plotter : undefined, []);
}

/**
 * The chunks' Jobs: start what is due, record what succeeded, and once every chunk is done, let
 * the plotter's count decide (finishing()); a round of runs again comes back here with the
 * chunks it lacks no longer recorded, so they start at once.
 */
function runChunks(ctx: Context, current: PlanRecord & StoredPlan, recorded: ReadonlySet<number>, view: PlotterView | undefined, lead: Action[]): Outcome {
  const { spec, mine, now } = ctx;
  const tasks = tasksOf(current);
  const rerun = view?.rerunChunks !== undefined ? { round: view.reruns, chunks: parseRanges(view.rerunChunks, tasks.length) ?? new Set<number>() } : undefined;
  const states = chunkStates(tasks.length, mine, new ChunkRetryRule(spec.retriesPerChunk, { ...ctx.config.retryWait, jitter: false }), recorded, rerun);
  const succeededIndices = states.flatMap((s, i) => (s.kind === 'succeeded' ? [i] : []));
  const succeededChunks = formatRanges(succeededIndices);
  // Only what the stored status already holds: a chunk recorded by this reconcile's own status
  // write loses its Jobs on the next one, after that write has landed.
  const recordedDone = mine.filter((a) => a.state !== 'active' && !a.deleting && recorded.has(a.chunk)).map((a): Action => ({ type: 'deleteJob', name: a.job }));
  const failures = states.flatMap((s, i) => (s.kind === 'failed' ? [{ index: i, attempts: s.attempts, last: s.last }] : []));
  const count = (kind: ChunkState['kind']): number => states.filter((s) => s.kind === kind).length;
  const succeeded = succeededIndices.length;
  const failed = failures.length;
  const failureText = failures
    .slice(0, 3)
    .map((f) => `${describeChunk(tasks[f.index]!.chunk)} failed after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}: ${f.last.message}`)
    .join('; ') + (failed > 3 ? `; and ${failed - 3} more` : '');
  const degraded: ConditionDraft = failed > 0 ? { status: 'True', reason: 'ChunksFailed', message: failureText }
    : rerun && view ? { status: 'True', reason: 'PartialsMissing', message: rerunText(view, spec.retriesPerChunk) }
      : healthy;
  const finished = (phase: Phase, conditions: Outcome['conditions'], actions: Action[], more: Partial<Outcome> = {}): Outcome => ({
    phase, chunks: { total: tasks.length, succeeded, failed, running: 0, pending: tasks.length - succeeded - failed },
    succeededChunks, plotter: view, conditions, actions: [...lead, ...recordedDone, ...actions], ...more,
  });

  if (failed > spec.maxFailedChunks) {
    const message = `${failed} chunk${failed === 1 ? '' : 's'} failed, more than maxFailedChunks (${spec.maxFailedChunks}): ${failureText}`;
    const stop: ConditionDraft = { status: 'False', reason: 'TooManyFailedChunks', message };
    // The analysis cannot succeed any more: running attempts are wasted work.
    return finished('Failed', { Progressing: stop, Ready: stop, Degraded: { ...stop, status: 'True' } },
      mine.filter((a) => a.state === 'active' && !a.deleting).map((a): Action => ({ type: 'deleteJob', name: a.job })));
  }

  if (succeeded + failed === tasks.length) {
    const decision = finishing(ctx, current, succeededIndices, view, degraded);
    if ('rerun' in decision) {
      // The chunks the plotter lacks are no longer recorded: their Jobs of the new round start now.
      const again = new Set([...recorded].filter((i) => !decision.missing.includes(i)));
      return runChunks(ctx, current, again, decision.rerun, [...lead, { type: 'event', event: { type: 'Warning', reason: 'PartialsMissing', message: rerunText(decision.rerun, spec.retriesPerChunk) } }]);
    }
    const { phase, conditions, actions, ...more } = decision;
    return finished(phase, conditions, actions, more);
  }

  const active = count('running');
  const due = states.flatMap((s, i) => (s.kind === 'pending' || (s.kind === 'retrying' && s.dueAt <= now) ? [i] : []));
  const starting = due.slice(0, Math.max(0, spec.parallelism - active));
  const round = (i: number): number => (rerun?.chunks.has(i) ? rerun.round : 0);
  const creates = starting.map((i): Action => {
    const s = states[i]!;
    const attempt = s.kind === 'retrying' ? s.attempt : 0;
    const job = chunkJob({ analysis: ctx.analysis, spec, generation: ctx.planGeneration, task: tasks[i]!, attempt, round: round(i), recipe: current.recipe, config: ctx.config.worker });
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
    plotter: view,
    conditions: {
      Progressing: spec.parallelism === 0
        ? { status: 'False', reason: 'Paused', message: `spec.parallelism is 0: no chunk Job starts (${progress})` }
        : { status: 'True', reason: 'ChunksRunning', message: progress },
      Ready: { status: 'False', reason: 'ChunksPending', message: `${succeeded}/${tasks.length} chunks done` },
      Degraded: degraded,
    },
    actions: [...lead, ...recordedDone, ...(creates.length > 0 ? [{ type: 'ensurePartialKey', secret: partialKeySecret(ctx.analysis, ctx.partialKey) } as const] : []), ...creates],
    ...(waits.length > 0 ? { requeueAfterMs: Math.min(...waits) } : {}),
  };
}

type Finish = Pick<Outcome, 'phase' | 'conditions' | 'actions' | 'requeueAfterMs' | 'asksPlotter' | 'plotter'>;

/** Polling the plotter backs off with the time its answer has stayed the same: 1 s, 2 s, 4 s, … 30 s. */
const POLL_MS = { min: 1_000, max: 30_000 };

/**
 * Every chunk's Job is done: the plotter's count says whether the analysis has succeeded, is still
 * coming in (partials queued, outputs being drawn), or lacks chunks that must run again.
 */
function finishing(ctx: Context, current: PlanRecord & StoredPlan, succeededIndices: readonly number[], before: PlotterView | undefined, degraded: ConditionDraft): Finish | { rerun: PlotterView; missing: number[] } {
  const { analysis, now, spec } = ctx;
  const total = current.plan.chunks;
  const succeededText = `${succeededIndices.length}/${total} chunks in and drawn by the plotter; the plot is at ${ctx.plotPath} on the plotter's volume`;
  const success = (view: PlotterView | undefined): Finish => ({
    phase: 'Succeeded', plotter: view, actions: [],
    conditions: {
      Progressing: { status: 'False', reason: 'Succeeded', message: succeededText },
      Ready: { status: 'True', reason: 'Succeeded', message: succeededText },
      Degraded: degraded.reason === 'PartialsMissing' ? healthy : degraded,
    },
  });
  // Succeeded is final for a plan, and so is failing here (chunks still missing, a drawing that
  // cannot work): the plotter is asked no more.
  const previous = analysis.status?.planGeneration === ctx.planGeneration ? analysis.status : undefined;
  if (previous?.phase === 'Succeeded') return success(before);
  if (previous?.phase === 'Failed' && previous.conditions) {
    const kept = Object.fromEntries(previous.conditions.map((c) => [c.type, { status: c.status, reason: c.reason, message: c.message }]));
    return { phase: 'Failed', plotter: before, actions: [], conditions: kept as Finish['conditions'] };
  }

  const waiting = (reason: string, message: string, view: PlotterView | undefined, more: Partial<Finish> = {}): Finish => ({
    phase: 'Running', plotter: view, actions: [],
    conditions: { Progressing: { status: 'True', reason, message }, Ready: { status: 'False', reason, message }, Degraded: degraded },
    ...more,
  });
  const observation = ctx.plotter;
  if (!observation) return waiting('AwaitingPlotter', 'every chunk\'s Job is done; asking the plotter what it holds', before, { asksPlotter: true });

  const answer = observation.kind === 'status' ? observation.status : undefined;
  const stored = answer ? parseRanges(answer.stored, total) : new Set<number>();
  const seen = observed(before, observation.kind === 'unreachable' || !stored ? undefined : { storedChunks: answer?.stored ?? '', drawn: answer?.drawn ?? false }, now);
  const waited = now - Date.parse(seen.changedAt);
  const poll = Math.min(POLL_MS.max, Math.max(POLL_MS.min, waited));
  if (observation.kind === 'unreachable' || !stored) {
    const why = observation.kind === 'unreachable' ? observation.error : `its status of ${ctx.id} names chunks outside the plan's ${total}: '${answer!.stored}'`;
    return waiting('PlotterUnreachable', `every chunk's Job is done, but the plotter cannot say what it holds: ${why}`, seen, { requeueAfterMs: poll });
  }
  if (!answer || !answer.planned) {
    // The plan went to the broker but not to this plotter (another consumer took it, say): hand it over again.
    return waiting('PlanNotWithPlotter', `the plotter has no plan for ${ctx.id}; handing it over again`, seen, {
      actions: [{ type: 'publishPlan', configMap: current.configMap, plan: current.plan }], requeueAfterMs: poll,
    });
  }
  if (answer.failed !== undefined) {
    const stop: ConditionDraft = { status: 'False', reason: 'PlotFailed', message: `the plotter cannot draw ${ctx.id}: ${answer.failed}` };
    return { phase: 'Failed', plotter: seen, actions: [], conditions: { Progressing: stop, Ready: stop, Degraded: { ...stop, status: 'True' } } };
  }
  const missing = succeededIndices.filter((i) => !stored.has(i));
  if (missing.length === 0) {
    return seen.drawn ? success(seen)
      : waiting('AwaitingPlot', `the plotter holds every chunk and is drawing${answer.writeError ? `; its last write failed: ${answer.writeError}` : ''}`, seen, { requeueAfterMs: poll });
  }
  const lacking = `the plotter holds ${stored.size}/${total} chunks and lacks ${formatRanges(missing)}, whose Jobs succeeded`;
  if (waited < ctx.config.partialsGraceMs) {
    return waiting('PartialsMissing', `${lacking}; they run again if none comes within ${Math.ceil((ctx.config.partialsGraceMs - waited) / 1000)} s`, seen, {
      requeueAfterMs: Math.min(poll, ctx.config.partialsGraceMs - waited),
    });
  }
  if (seen.reruns >= spec.retriesPerChunk) {
    const message = `${lacking}, after ${seen.reruns} round${seen.reruns === 1 ? '' : 's'} of running them again (spec.retriesPerChunk ${spec.retriesPerChunk}): their partials never reached the plotter (another consumer on the broker's vhost?)`;
    const stop: ConditionDraft = { status: 'False', reason: 'PartialsMissing', message };
    return { phase: 'Failed', plotter: seen, actions: [], conditions: { Progressing: stop, Ready: stop, Degraded: { ...stop, status: 'True' } } };
  }
  return { rerun: { ...seen, reruns: seen.reruns + 1, rerunChunks: formatRanges(missing), changedAt: stamp(now) }, missing };
}

/** The plotter's answer folded into what the status holds; `changedAt` moves only when the answer does. */
function observed(before: PlotterView | undefined, answer: { storedChunks: string; drawn: boolean } | undefined, now: number): PlotterView {
  const base: PlotterView = before ?? { reachable: answer !== undefined, storedChunks: '', drawn: false, changedAt: stamp(now), reruns: 0 };
  const next: PlotterView = answer ? { ...base, reachable: true, ...answer } : { ...base, reachable: false };
  const same = before !== undefined && before.reachable === next.reachable && before.storedChunks === next.storedChunks && before.drawn === next.drawn;
  return same ? next : { ...next, changedAt: stamp(now) };
}

function rerunText(view: PlotterView, rounds: number): string {
  return `the plotter lacked chunks ${view.rerunChunks} although their Jobs had succeeded: running them again (round ${view.reruns} of at most ${rounds})`;
}

/** Status times are whole seconds, as metav1.Time writes them. */
const stamp = (now: number): string => new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');

function retryEvent(chunk: Chunk, attempt: number, retries: number, last: AttemptFailure): EventSpec {
  return { type: 'Warning', reason: 'RetryingChunk', message: `${describeChunk(chunk)}: attempt ${attempt + 1} of ${retries + 1} after ${last.message}` };
}

function statusOf(ctx: Context, outcome: Outcome): AnalysisStatus {
  const { analysis, planGeneration, now } = ctx;
  const previous = analysis.status?.conditions ?? [];
  const generation = analysis.metadata.generation;
  return {
    observedGeneration: generation,
    planGeneration,
    phase: outcome.phase,
    ...(outcome.chunks ? { chunks: outcome.chunks, progress: `${outcome.chunks.succeeded}/${outcome.chunks.total}` } : {}),
    ...(outcome.succeededChunks ? { succeededChunks: outcome.succeededChunks } : {}),
    ...(outcome.plotter ? { plotter: outcome.plotter } : {}),
    running: outcome.chunks?.running ?? 0,
    selector: planSelector(analysis.metadata.name, planGeneration),
    output: { path: ctx.plotPath },
    conditions: CONDITION_TYPES.map((type): Condition => {
      const draft = outcome.conditions[type];
      const before = previous.find((c) => c.type === type);
      // The transition time moves only when the condition's status does, as metav1.Condition's contract says.
      const lastTransitionTime = before && before.status === draft.status ? before.lastTransitionTime : stamp(now);
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
