import { errorMessage } from '../core/contracts/errors.js';
import type { Log } from '../core/util/log.js';
import { resolveSpec, type HZZAnalysis } from './api/v1alpha1.js';
import { jobFailed, jobSummary, observeJob, type ChunkAttempt } from './chunk-status.js';
import { Informer } from './informer.js';
import type { WorkerConfig } from './job-spec.js';
import { paths, type KubeAdapter } from './kube-adapter.js';
import { namespacedName, type Job } from './kube-types.js';
import { ANNOTATIONS, LABELS, MANAGER, isControlledBy } from './naming.js';
import type { PlanPublisher } from './plan-publisher.js';
import { planConfigMap, readPlanRecord } from './plan-store.js';
import { makePlan, type DataPvcs } from './planner.js';
import { reconcile, type Action, type EventSpec, type ReconcileConfig } from './reconcile.js';
import { WorkQueue } from './work-queue.js';

/**
 * The reconcile loop around the pure reconcile(): informers on HZZAnalyses and on the operator's
 * Jobs turn every change into the analysis's key on a work queue; a worker takes a key, reads the
 * analysis and its plan ConfigMaps afresh from the API server (never trusting the event that woke
 * it), its Jobs from the Jobs' informer, asks reconcile() what to do, and does it.
 *
 * The Jobs come from the cache because listing them on every reconcile costs the API server and
 * the operator a whole list per chunk event, a cost that grows with the square of the chunk count
 * (docs/performance.md, "The control plane at scale"). The cache may lag behind the operator's own
 * writes: a Job it creates goes into the cache at once from the API's answer (so no reconcile counts
 * it missing and starts one too many), and a Job it deletes that still shows is deleted again,
 * which the API answers with NotFound, harmlessly.
 */
export interface ControllerOptions {
  kube: KubeAdapter;
  publisher: PlanPublisher;
  worker: WorkerConfig;
  dataPvcs: DataPvcs;
  /** Where spec.source.urlPrefix may point (planner.ts); default: the official servers. */
  allowedUrlPrefixes?: readonly string[] | undefined;
  retryWait: ReconcileConfig['retryWait'];
  /** Watch one namespace; all when undefined. */
  namespace?: string | undefined;
  resyncMs: number;
  /** Analyses reconciled at once (each one by a single worker at a time). */
  workers: number;
  log: Log;
}

export class Controller {
  private readonly queue: WorkQueue;
  private readonly analyses: Informer<HZZAnalysis>;
  private readonly jobs: Informer<Job>;
  private running: Promise<void> | undefined;

  constructor(private readonly opts: ControllerOptions) {
    const { kube, namespace, log } = opts;
    this.queue = new WorkQueue({
      onError: (key, err, retryInMs) => log('reconcile failed', { analysis: key, error: errorMessage(err), retryInMs: Math.round(retryInMs) }),
    });
    this.analyses = new Informer<HZZAnalysis>(kube.client, { path: paths.analyses(namespace), resyncMs: opts.resyncMs, log },
      (_type, a) => this.queue.add(namespacedName(a.metadata.namespace, a.metadata.name)));
    // Resyncs come from the analyses' informer; this one only reports changes to the Jobs.
    this.jobs = new Informer<Job>(kube.client, {
      path: paths.jobs(namespace), labelSelector: `${LABELS.managedBy}=${MANAGER},${LABELS.analysis}`, resyncMs: 0, log, transform: jobSummary,
    },
      (_type, job) => this.queue.add(namespacedName(job.metadata.namespace, job.metadata.labels![LABELS.analysis]!)));
  }

  start(): void {
    this.analyses.start();
    this.jobs.start();
    this.running = this.queue.run(this.opts.workers, (key) => this.sync(key));
  }

  get ready(): boolean {
    return this.analyses.hasSynced && this.jobs.hasSynced;
  }

  /** Stops watching and lets the reconciles in progress finish. */
  async stop(): Promise<void> {
    this.analyses.stop();
    this.jobs.stop();
    this.queue.shutDown();
    await this.running;
  }

  async sync(key: string): Promise<{ requeueAfterMs?: number }> {
    const slash = key.indexOf('/');
    const [namespace, name] = [key.slice(0, slash), key.slice(slash + 1)];
    const { kube } = this.opts;
    const analysis = await kube.getAnalysis(namespace, name);
    if (!analysis) return {};
    const selector = `${LABELS.analysis}=${name}`;
    const configMaps = await kube.listConfigMaps(namespace, selector);
    const mine = this.jobs.items().filter((j) => j.metadata.namespace === namespace && isControlledBy(j, analysis.metadata.uid));
    const pods = mine.some(jobFailed) ? await kube.listPods(namespace, selector) : [];
    const result = reconcile({
      analysis,
      attempts: mine.map((j) => observeJob(j, pods)).filter((a): a is ChunkAttempt => a !== undefined),
      plans: configMaps.filter((cm) => isControlledBy(cm, analysis.metadata.uid)).map(readPlanRecord),
      config: { worker: this.opts.worker, retryWait: this.opts.retryWait },
      now: Date.now(),
    });
    try {
      for (const action of result.actions) await this.execute(analysis, action);
    } catch (err) {
      await this.emit(analysis, { type: 'Warning', reason: 'ReconcileFailed', message: errorMessage(err) });
      throw err;
    }
    return result;
  }

  private async execute(analysis: HZZAnalysis, action: Action): Promise<void> {
    const { kube, log } = this.opts;
    const { namespace, name } = analysis.metadata;
    switch (action.type) {
      case 'deleteJob': return kube.deleteJob(namespace, action.name);
      case 'deleteConfigMap': return kube.deleteConfigMap(namespace, action.name);
      case 'updateStatus': await kube.patchStatus(analysis, action.status); return;
      case 'event': return this.emit(analysis, action.event);
      case 'plan': {
        const started = Date.now();
        const content = await makePlan(analysis, resolveSpec(analysis.spec), action.generation, this.opts.dataPvcs, this.opts.allowedUrlPrefixes);
        await kube.createConfigMap(planConfigMap(analysis, action.generation, action.specHash, content));
        log('planned', { analysis: `${namespace}/${name}`, generation: action.generation, ms: Date.now() - started, ...('error' in content ? { error: content.error } : { chunks: content.plan.chunks }) });
        return;
      }
      case 'publishPlan':
        await this.opts.publisher.publish(action.plan);
        await kube.annotateConfigMap(namespace, action.configMap, { [ANNOTATIONS.planPublished]: 'true' });
        log('plan published', { analysis: action.plan.analysis, chunks: action.plan.chunks });
        return;
      case 'createJob': {
        const created = await kube.createJob(action.job);
        if (!created) return;
        this.jobs.assume(created);
        if (action.event) await this.emit(analysis, action.event);
        return;
      }
    }
  }

  /** Events are for people; failing to record one is logged, never a reason to redo the reconcile. */
  private async emit(analysis: HZZAnalysis, event: EventSpec): Promise<void> {
    try {
      await this.opts.kube.event(analysis, event);
    } catch (err) {
      this.opts.log('event not recorded', { analysis: `${analysis.metadata.namespace}/${analysis.metadata.name}`, reason: event.reason, error: errorMessage(err) });
    }
  }
}
