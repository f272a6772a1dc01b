// The node side of a test cluster, which the control plane alone lacks: the real
// kube-controller-manager (its Job controller turns Jobs into Pods and Pod outcomes into Job
// conditions, honouring backoffLimit and podFailurePolicy; its garbage collector deletes what an
// owner leaves behind) and a job runner standing in for the scheduler and the kubelet. The runner
// binds each Pod to a fake Node, runs its container's command as a local child process (the real
// worker, `node dist/worker/main.js` for `hzz worker`) with the Pod's env (Secrets resolved as the
// kubelet does) and a termination-log file, and writes the Pod's status as the kubelet would: Running,
// then Succeeded or Failed with the exit code and the termination message.
//
// What it cannot do is mount anything: a PVC is followed to its PersistentVolume's hostPath, and the
// container must mount it at that very path (the operator's --data-pvc NAME=DIR makes it so).
//
// For the control-plane scale benchmark (bench/scale.ts) a command may instead map to a function
// run in this process: thousands of pods, each a Node start of its own, would take the two cores
// from the API server and the operator being measured. The Pods, their binding and their status
// still go through the API server and the Job controller exactly as with a process.
import type { ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../../core/contracts/errors.js';
import { CRD_FILE } from '../../operator/api/crd.js';
import { Informer } from '../../operator/informer.js';
import { KubeClient, isNotFound } from '../../operator/kube-client.js';
import type { Pod } from '../../operator/kube-types.js';
import { startControlPlane, type ControlPlane, type StartOptions } from './control-plane.js';
import { spawnTied } from './processes.js';

export const WORKER_MAIN = fileURLToPath(new URL('../../worker/main.js', import.meta.url));
export const NODE_NAME = 'hzz-test-node';

export interface ControllerManager {
  log: string;
  stop(): Promise<void>;
}

/**
 * kube-controller-manager with the controllers a Job needs: job (Pods for Jobs, Job status), the
 * garbage collector (ownerReferences) and pod GC. CRDs must exist before it starts: the garbage
 * collector learns the resource types it watches from discovery, and re-reads it only every 30 s.
 */
export function startControllerManager(cp: ControlPlane, extraArgs: readonly string[] = []): ControllerManager {
  const log = join(cp.dir, 'kube-controller-manager.log');
  const fd = openSync(log, 'a');
  const child = spawnTied(join(cp.toolsBin, 'kube-controller-manager'), [
    `--kubeconfig=${cp.kubeconfig}`,
    '--controllers=job-controller,garbage-collector-controller,pod-garbage-collector-controller',
    '--leader-elect=false',
    '--use-service-account-credentials=false',
    '--secure-port=0',
    '-v=1',
    ...extraArgs,
  ], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    log,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** How the runner treats one pod, decided when it starts it. */
export interface PodBehaviour {
  /** Stay Running this long before the container starts (a slow worker, to watch parallelism). */
  delayMs?: number;
  /** Do not run the container: end with this exit code and termination message (fault injection). */
  exit?: { code: number; message: string };
}

export interface PodRun {
  namespace: string;
  pod: string;
  labels: Record<string, string>;
  startedAt: number;
  finishedAt?: number;
  exitCode?: number;
  message?: string;
}

/** A container run inside the runner's process (benchmark mode): its env in, its exit code and termination message out. */
export type InProcessContainer = (env: Record<string, string>) => Promise<{ code: number; message: string }>;

export interface JobRunnerOptions {
  client: KubeClient;
  /** Container commands (joined by spaces, matched as a prefix) and the local argv that replaces them, or the function run instead. */
  commands: Record<string, string[] | InProcessContainer>;
  behaviour?: (pod: Pod) => PodBehaviour | undefined;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const KILLED = { code: 137, message: 'killed: the pod was deleted' };
const podKey = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;

export class JobRunner {
  /** Every pod run, in start order; a finished one has exitCode. */
  readonly runs: PodRun[] = [];
  behaviour: (pod: Pod) => PodBehaviour | undefined;
  /** Called with each container process as it starts: a test may read its output or kill it (a crash). */
  onContainer: (pod: Pod, child: ChildProcess) => void = () => {};
  private readonly informer: Informer<Pod>;
  private readonly bound = new Set<string>();
  private readonly started = new Set<string>();
  private readonly deleting = new Set<string>();
  /** How to stop each pod's container (or its delay), by pod. */
  private readonly cancels = new Map<string, () => void>();
  private stopped = false;

  private constructor(private readonly opts: JobRunnerOptions, private readonly dir: string) {
    this.behaviour = opts.behaviour ?? (() => undefined);
    this.informer = new Informer<Pod>(opts.client, { path: '/api/v1/pods', resyncMs: 0 }, (type, pod) => {
      if (type !== 'deleted') this.onPod(pod).catch((err) => process.stderr.write(`job runner: ${podKey(pod)}: ${errorMessage(err)}\n`));
    });
  }

  static async start(opts: JobRunnerOptions): Promise<JobRunner> {
    const { client } = opts;
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME, labels: { 'kubernetes.io/hostname': NODE_NAME } } };
    await client.create('/api/v1/nodes', node);
    await client.mergePatch(`/api/v1/nodes/${NODE_NAME}/status`, {
      status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'job runner', lastHeartbeatTime: now(), lastTransitionTime: now() }] },
    });
    const runner = new JobRunner(opts, await mkdtemp(join(tmpdir(), 'hzz-job-runner-')));
    runner.informer.start();
    await runner.informer.waitForSync();
    return runner;
  }

  /** Pods whose container is running (or waiting out its delay) now, in one namespace. */
  active(namespace: string): number {
    return this.runs.filter((r) => r.namespace === namespace && r.exitCode === undefined).length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.informer.stop();
    for (const cancel of this.cancels.values()) cancel();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async onPod(pod: Pod): Promise<void> {
    if (this.stopped) return;
    const key = podKey(pod);
    const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
    if (pod.metadata.deletionTimestamp) {
      // As the kubelet: stop the container, then confirm the deletion with grace period 0.
      this.cancels.get(key)?.();
      if (this.deleting.has(key)) return;
      this.deleting.add(key);
      await this.opts.client.delete(path, { gracePeriodSeconds: 0 }).catch((err) => { if (!isNotFound(err)) throw err; });
      return;
    }
    if (!pod.spec?.nodeName) {
      if (this.bound.has(key)) return;
      this.bound.add(key);
      await this.opts.client.create(`${path}/binding`, {
        apiVersion: 'v1', kind: 'Binding', metadata: { name: pod.metadata.name }, target: { apiVersion: 'v1', kind: 'Node', name: NODE_NAME },
      });
      return;
    }
    if (pod.spec.nodeName !== NODE_NAME || pod.status?.phase !== 'Pending' || this.started.has(key)) return;
    this.started.add(key);
    await this.run(pod, path);
  }

  private async run(pod: Pod, path: string): Promise<void> {
    const container = pod.spec!.containers[0]!;
    const started = now();
    await this.opts.client.mergePatch(`${path}/status`, {
      status: {
        phase: 'Running', startTime: started, hostIP: '127.0.0.1', podIP: '127.0.0.1',
        conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: started })),
        containerStatuses: [{ name: container.name, image: container.image ?? '', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: started } } }],
      },
    });
    const run: PodRun = { namespace: pod.metadata.namespace!, pod: pod.metadata.name, labels: pod.metadata.labels ?? {}, startedAt: Date.now() };
    this.runs.push(run);
    let outcome: { code: number; message: string };
    try {
      outcome = await this.execute(pod, container);
    } catch (err) {
      outcome = { code: 1, message: `job runner: ${errorMessage(err)}` };
    }
    run.finishedAt = Date.now();
    run.exitCode = outcome.code;
    run.message = outcome.message;
    if (this.stopped) return;
    const finished = now();
    await this.opts.client.mergePatch(`${path}/status`, {
      status: {
        phase: outcome.code === 0 ? 'Succeeded' : 'Failed',
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: started },
          { type: 'Initialized', status: 'True', lastTransitionTime: started },
          ...['ContainersReady', 'Ready'].map((type) => ({ type, status: 'False', reason: 'PodCompleted', lastTransitionTime: finished })),
        ],
        containerStatuses: [{
          name: container.name, image: container.image ?? '', imageID: '', ready: false, started: false, restartCount: 0,
          state: { terminated: { exitCode: outcome.code, reason: outcome.code === 0 ? 'Completed' : 'Error', message: outcome.message, startedAt: started, finishedAt: finished } },
        }],
      },
    }).catch((err) => { if (!isNotFound(err)) throw err; });
  }

  /** Runs the container (or what the behaviour says instead); resolves with its exit code and message. */
  private async execute(pod: Pod, container: NonNullable<Pod['spec']>['containers'][number]): Promise<{ code: number; message: string }> {
    const key = podKey(pod);
    let cancelled = false;
    let wake = () => {};
    this.cancels.set(key, () => { cancelled = true; wake(); });
    try {
      const behaviour = this.behaviour(pod) ?? {};
      if (behaviour.delayMs) await new Promise<void>((resolve) => { const t = setTimeout(resolve, behaviour.delayMs); wake = () => { clearTimeout(t); resolve(); }; });
      if (cancelled) return KILLED;
      if (behaviour.exit) return behaviour.exit;

      const argv = [...(container.command ?? []), ...(container.args ?? [])];
      const match = Object.keys(this.opts.commands).filter((c) => c.split(' ').every((word, i) => argv[i] === word)).sort((a, b) => b.length - a.length)[0];
      if (match === undefined) return { code: 127, message: `job runner: no local command for '${argv.join(' ')}'` };
      const command = this.opts.commands[match]!;
      await this.checkMounts(pod, container);
      const terminationLog = join(this.dir, `${pod.metadata.uid}.termination-log`);
      const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HZZ_TERMINATION_LOG: terminationLog };
      for (const v of container.env ?? []) env[v.name] = await this.envValue(pod.metadata.namespace!, v);
      if (cancelled) return KILLED;
      if (typeof command === 'function') return await command(env);

      const local = [...command, ...argv.slice(match.split(' ').length)];
      await writeFile(terminationLog, '');
      const child = spawnTied(local[0]!, local.slice(1), { cwd: container.workingDir ?? this.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      this.cancels.set(key, () => child.kill('SIGKILL'));
      this.onContainer(pod, child);
      let logs = '';
      const keep = (d: Buffer) => { logs = (logs + d.toString('utf8')).slice(-2048); };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      const code = await new Promise<number>((resolve) => child.on('close', (c, signal) => resolve(c ?? 128 + (signal === 'SIGKILL' ? 9 : 15))));
      const written = (await readFile(terminationLog, 'utf8')).trim();
      // terminationMessagePolicy FallbackToLogsOnError, as the kubelet applies it.
      return { code, message: written || (code !== 0 ? logs.trim() : '') };
    } finally {
      this.cancels.delete(key);
    }
  }

  private async envValue(namespace: string, v: NonNullable<NonNullable<Pod['spec']>['containers'][number]['env']>[number]): Promise<string> {
    if (v.value !== undefined) return v.value;
    const ref = v.valueFrom?.secretKeyRef;
    if (!ref) throw new Error(`env ${v.name}: only value and secretKeyRef are supported`);
    const secret = await this.opts.client.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/secrets/${ref.name}`);
    const data = secret.data?.[ref.key];
    if (data === undefined) throw new Error(`env ${v.name}: secret ${ref.name} has no key ${ref.key}`);
    return Buffer.from(data, 'base64').toString('utf8');
  }

  private async checkMounts(pod: Pod, container: NonNullable<Pod['spec']>['containers'][number]): Promise<void> {
    for (const mount of container.volumeMounts ?? []) {
      const volume = pod.spec!.volumes?.find((v) => v.name === mount.name);
      // A process's scratch space is the machine's /tmp, as an emptyDir would give it.
      if (volume?.emptyDir && mount.mountPath === '/tmp') continue;
      const claim = volume?.persistentVolumeClaim?.claimName;
      if (!claim) throw new Error(`volume ${mount.name}: only persistentVolumeClaim volumes and an emptyDir at /tmp are supported`);
      const pvc = await this.opts.client.get<{ spec?: { volumeName?: string } }>(`/api/v1/namespaces/${pod.metadata.namespace}/persistentvolumeclaims/${claim}`);
      if (!pvc.spec?.volumeName) throw new Error(`PVC ${claim} names no volume (spec.volumeName)`);
      const pv = await this.opts.client.get<{ spec?: { hostPath?: { path: string }; local?: { path: string } } }>(`/api/v1/persistentvolumes/${pvc.spec.volumeName}`);
      const hostPath = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
      if (hostPath !== mount.mountPath) {
        throw new Error(`PV ${pvc.spec.volumeName} is host path ${hostPath}, mounted at ${mount.mountPath}: without mount namespaces the runner needs the same path`);
      }
    }
  }
}

export interface TestCluster {
  cp: ControlPlane;
  client: KubeClient;
  runner: JobRunner;
  controllerManager: ControllerManager;
  stop(): Promise<void>;
}

export interface TestClusterOptions extends StartOptions {
  name: string;
  behaviour?: JobRunnerOptions['behaviour'];
  /** How `hzz worker` runs: by default the real worker as a process of its own. */
  worker?: JobRunnerOptions['commands'][string];
  controllerManagerArgs?: readonly string[];
}

/** A control plane with the HZZAnalysis CRD, kube-controller-manager, and a job runner running `hzz worker` as the real worker. */
export async function startTestCluster(opts: TestClusterOptions): Promise<TestCluster> {
  const cp = await startControlPlane(opts);
  const stack: (() => Promise<void>)[] = [() => cp.stop()];
  const stop = async () => { for (const fn of stack.reverse()) await fn().catch(() => {}); };
  try {
    const applied = await cp.kubectl(['apply', '-f', CRD_FILE]);
    if (applied.code !== 0) throw new Error(`CRD not applied: ${applied.stderr}`);
    const established = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=30s', '-f', CRD_FILE]);
    if (established.code !== 0) throw new Error(`CRD not established: ${established.stderr}`);
    const controllerManager = startControllerManager(cp, opts.controllerManagerArgs);
    stack.push(() => controllerManager.stop());
    const client = KubeClient.load(cp.kubeconfig);
    const runner = await JobRunner.start({ client, commands: { 'hzz worker': opts.worker ?? [process.execPath, WORKER_MAIN] }, ...(opts.behaviour ? { behaviour: opts.behaviour } : {}) });
    stack.push(() => runner.stop());
    return { cp, client, runner, controllerManager, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
