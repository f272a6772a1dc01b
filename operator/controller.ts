import { errorMessage } from '../core/contracts/errors.js';
import type { Log } from '../core/util/log.js';
import { resolveSpec, type HZZAnalysis } from './api/v1alpha1.js';
import { jobFailed, jobSummary, observeJob, type ChunkAttempt } from './chunk-status.js';
import { Informer } from './informer.js';
import type { WorkerConfig } from './job-spec.js';
import { paths, type KubeAdapter } from './kube-adapter.js';
import { namespacedName, type ConfigMap, type Job } from './kube-types.js';
import { ANNOTATIONS, LABELS, MANAGER, isControlledBy } from './naming.js';
import type { PlanPublisher } from './plan-publisher.js';
import { ensurePartialKeySecret } from './partial-key.js';
import type { PlotterClient } from './plotter-client.js';
import { planConfigMap, readPlanRecord } from './plan-store.js';
import { makePlan, type DataPvcs } from './planner.js';
import { reconcile, type Action, type EventSpec, type ReconcileConfig } from './reconcile.js';
import { WorkQueue } from './work-queue.js';

/**
 * The reconcile loop around the pure reconcile(): informers on HZZAnalyses, on the operator's
 * Jobs and on its plan ConfigMaps turn every change into the analysis's key on a work queue; a
 * worker takes a key, reads the analysis, its plan ConfigMaps and its Jobs from the informers'
 * caches (never from the event that woke it), asks reconcile() what to do, and does it.
 *
 * Everything is read from the caches, as controller-runtime's client does, because reading the
 * API server on every reconcile costs requests per reconcile, and reconciles per chunk vary with
 * how many events the queue folds into one (docs/performance.md, "The control plane at scale"):
 * listing the Jobs even grew with the square of the chunk count. The caches may lag behind the
 * operator's own writes, so every write's answer goes into its cache at once (Informer.assume):
 * a Job just created is not counted missing and started twice, a status just patched is what the
 * next reconcile builds on (this operator is the status's only writer), a plan just published is
 * not published again. A Job or ConfigMap it deleted that still shows is deleted again, which
 * the API answers with NotFound, harmlessly. No reconcile runs before every cache has listed once.
 */
export interface ControllerOptions {
  kube: KubeAdapter;
  publisher: PlanPublisher;
  worker: WorkerConfig;
  dataPvcs: DataPvcs;
  /** Where spec.source.urlPrefix may point (planner.ts); default: the official servers. */
  allowedUrlPrefixes?: readonly string[] | undefined;
  retryWait: ReconcileConfig['retryWait'];
  partialMasterKey: string;
  partialsGraceMs: number;
  /** Asks the plotter what it holds of an analysis: only once all its chunks' Jobs are done. */
  plotter: PlotterClient;
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
  private readonly plans: Informer<ConfigMap>;
  private running: Promise<void> | undefined;
  private abandonSync: () => void = () => {};
  /** When each analysis's (uid's) partial-key Secret was last found right. */
  private readonly keysChecked = new Map<string, number>();

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
    this.plans = new Informer<ConfigMap>(kube.client, {
      path: paths.configMaps(namespace), labelSelector: `${LABELS.managedBy}=${MANAGER},${LABELS.component}=plan,${LABELS.analysis}`, resyncMs: 0, log,
    },
      (_type, cm) => this.queue.add(namespacedName(cm.metadata.namespace, cm.metadata.labels![LABELS.analysis]!)));
  }

  private get informers(): Informer<HZZAnalysis | Job | ConfigMap>[] {
    return [this.analyses, this.jobs, this.plans] as Informer<HZZAnalysis | Job | ConfigMap>[];
  }

  start(): void {
    for (const informer of this.informers) informer.start();
    // Stopped before the caches filled (an API server that never answered), the queue runs, shut down, not at all.
    const stopped = new Promise<void>((resolve) => (this.abandonSync = resolve));
    this.running = Promise.race([Promise.all(this.informers.map((i) => i.waitForSync())), stopped])
      .then(() => this.queue.run(this.opts.workers, (key) => this.sync(key)));
  }

  get ready(): boolean {
    return this.informers.every((i) => i.hasSynced);
  }

  /** Stops watching and lets the reconciles in progress finish. */
  async stop(): Promise<void> {
    for (const informer of this.informers) informer.stop();
    this.queue.shutDown();
    this.abandonSync();
    await this.running;
  }

  async sync(key: string): Promise<{ requeueAfterMs?: number }> {
    const slash = key.indexOf('/');
    const [namespace, name] = [key.slice(0, slash), key.slice(slash + 1)];
    const analysis = this.analyses.get(namespace, name);
    if (!analysis) return {};
    const ownedHere = <T extends Job | ConfigMap>(o: T): boolean => o.metadata.namespace === namespace && isControlledBy(o, analysis.metadata.uid);
    const mine = this.jobs.items().filter(ownedHere);
    const pods = mine.some(jobFailed) ? await this.opts.kube.listPods(namespace, `${LABELS.analysis}=${name}`) : [];
    const input = {
      analysis,
      attempts: mine.map((j) => observeJob(j, pods)).filter((a): a is ChunkAttempt => a !== undefined),
      plans: this.plans.items().filter(ownedHere).map(readPlanRecord),
      config: { worker: this.opts.worker, retryWait: this.opts.retryWait, partialMasterKey: this.opts.partialMasterKey, partialsGraceMs: this.opts.partialsGraceMs },
      now: Date.now(),
    };
    const first = reconcile(input);
    // The plotter is asked only when its count decides: every chunk's Job done, not yet Succeeded.
    const result = first.asksPlotter === undefined ? first : reconcile({ ...input, plotter: await this.opts.plotter(first.asksPlotter), now: Date.now() });
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
      case 'updateStatus': this.analyses.assume(await kube.patchStatus(analysis, action.status)); return;
      case 'event': return this.emit(analysis, action.event);
      case 'plan': {
        const started = Date.now();
        const content = await makePlan(analysis, resolveSpec(analysis.spec), action.generation, this.opts.dataPvcs, this.opts.allowedUrlPrefixes);
        const created = await kube.createConfigMap(planConfigMap(analysis, action.generation, action.specHash, content));
        if (created) this.plans.assume(created);
        log('planned', { analysis: `${namespace}/${name}`, generation: action.generation, ms: Date.now() - started, ...('error' in content ? { error: content.error } : { chunks: content.plan.chunks }) });
        return;
      }
      case 'publishPlan':
        await this.opts.publisher.publish(action.plan);
        this.plans.assume(await kube.annotateConfigMap(namespace, action.configMap, { [ANNOTATIONS.planPublished]: 'true' }));
        log('plan published', { analysis: action.plan.analysis, chunks: action.plan.chunks });
        return;
      case 'ensurePartialKey': {
        // The Secret is immutable: checked once per resync period, not on every reconcile that starts
        // Jobs, so the operator's requests per chunk do not grow with the reconciles per chunk.
        const now = Date.now();
        const checked = this.keysChecked.get(analysis.metadata.uid);
        if (checked !== undefined && now - checked < this.opts.resyncMs) return;
        const replaced = await ensurePartialKeySecret(kube, action.secret, analysis.metadata.uid);
        for (const [uid, at] of this.keysChecked) if (now - at >= this.opts.resyncMs) this.keysChecked.delete(uid);
        this.keysChecked.set(analysis.metadata.uid, now);
        if (replaced) await this.emit(analysis, { type: 'Warning', reason: 'PartialKeyReplaced', message: `${replaced}; replaced with the analysis's own` });
        return;
      }
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
