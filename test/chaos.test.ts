// Chaos: seeded SIGKILLs across every part of the cluster path, each run checked to end exactly as a
// fault-free run does. The parts are the real ones: kube-apiserver and kube-controller-manager (the
// job runner runs each chunk pod as the real worker process), the operator and the plotter as
// processes, and a RabbitMQ node of the test's own (test/harness/rabbitmq-node.ts), killed and
// restarted on its data dir; the shared node is never touched. The test restarts a killed
// plotter, operator or broker as a Deployment would; a killed worker's Job fails and the operator
// starts the chunk's next attempt. Schedules: test/support/chaos-schedule.ts.
//
// HZZ_CHAOS_SEED=<seed> replays one run's schedule; HZZ_CHAOS_FIRST_SEED and HZZ_CHAOS_RUNS pick
// another range of seeds (by default 1..20, as CI runs them).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { clusterAnalysisId } from '../core/contracts/analysis-id.js';
import type { HZZAnalysis } from '../operator/api/v1alpha1.js';
import { Informer } from '../operator/informer.js';
import { paths } from '../operator/kube-adapter.js';
import type { Job, Pod } from '../operator/kube-types.js';
import { LABELS } from '../operator/naming.js';
import { PARTIAL_MASTER_KEY_ENV } from '../operator/config.js';
import { QUEUES } from '../transport/topology.js';
import { startTestCluster } from './harness/job-runner.js';
import { spawnTied } from './harness/processes.js';
import { startRabbitNode } from './harness/rabbitmq-node.js';
import { analysisFixture, histogramsOf, tempDir } from './support/analysis-fixture.js';
import { queueDepth, waitUntil } from './support/broker.js';
import { chaosSchedule, describeKill, KILL_KINDS, type Kill, type KillKind } from './support/chaos-schedule.js';
import { spawnPlotter, type ChildPlotter, type LogLine } from './support/child-process.js';
import { cleanupStack } from './support/cleanup.js';
import { compareHistograms } from './support/histograms-equal.js';
import { CLI, SHARED_DATA } from './support/paths.js';

const SAMPLES = ['data_B', 'Zmumu'];
const CHUNK_SIZE = 100; // 9 chunks: 2 of data_B, 7 of Zmumu
const SECRET = 'hzz-amqp';
// The operator's master key (the chart's Secret), the same across its restarts: the analyses' keys derive from it.
const masterKey = randomBytes(32).toString('hex');
const PV = 'hzz-shared';
const RUN_TIMEOUT_MS = 180_000;

function seedsToRun(): number[] {
  const int = (name: string, fallback: number): number => {
    const text = process.env[name];
    if (text === undefined || text === '') return fallback;
    if (!/^\d+$/.test(text)) throw new Error(`${name} must be a non-negative integer (got '${text}')`);
    return Number(text);
  };
  const replay = process.env.HZZ_CHAOS_SEED;
  if (replay !== undefined && replay !== '') return [int('HZZ_CHAOS_SEED', 0)];
  const first = int('HZZ_CHAOS_FIRST_SEED', 1);
  return Array.from({ length: int('HZZ_CHAOS_RUNS', 20) }, (_, i) => first + i);
}

const finished = (j: Job, type: 'Complete' | 'Failed') => (j.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
const active = (j: Job) => !finished(j, 'Complete') && !finished(j, 'Failed');
const chunkOf = (o: { metadata: { labels?: Record<string, string> } }) => Number(o.metadata.labels?.[LABELS.chunk]);
const attemptOf = (o: { metadata: { labels?: Record<string, string> } }) => Number(o.metadata.labels?.[LABELS.attempt]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON log lines of a child's stream, one callback each. */
function onLines(stream: NodeJS.ReadableStream, fn: (l: LogLine) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (pending + chunk).split('\n');
    pending = parts.pop()!;
    for (const p of parts) {
      try { fn(JSON.parse(p) as LogLine); } catch { /* not a log line */ }
    }
  });
}

const killed = (child: ChildProcess): Promise<void> => new Promise((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) return resolve();
  child.once('exit', () => resolve());
  child.kill('SIGKILL');
});

test('chaos: seeded SIGKILLs of workers, plotter, operator and broker leave every run identical to the fault-free one', { timeout: 25 * 60_000 }, async (t) => {
  const started = Date.now();
  const seeds = seedsToRun();
  const defer = cleanupStack(t);
  const broker = await startRabbitNode('chaos');
  defer(() => broker.dispose());
  const cluster = await startTestCluster({ name: 'chaos' });
  defer(() => cluster.stop());
  const { cp, client, runner } = cluster;
  const out = tempDir('chaos-plots');
  defer(() => out.dispose());
  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const res = await cp.kubectl(args, input === undefined ? {} : { input });
    assert.equal(res.code, 0, `kubectl ${args.join(' ')}:\n${res.stderr}`);
    return res.stdout;
  };
  await kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: PV },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadOnlyMany'], storageClassName: '', hostPath: { path: SHARED_DATA } },
  }));

  // What each run's triggers listen to: every part's log lines and Jobs, tagged with the run.
  type Listener = {
    workerStarted(ns: string, chunk: number, attempt: number, child: ChildProcess): void;
    workerLine(ns: string, chunk: number, attempt: number, line: LogLine, child: ChildProcess): void;
    plotterLine(line: LogLine): void;
    operatorLine(line: LogLine): void;
  };
  let listener: Listener | undefined;
  runner.onContainer = (pod: Pod, child: ChildProcess) => {
    const ns = pod.metadata.namespace!;
    const [chunk, attempt] = [chunkOf(pod), attemptOf(pod)];
    listener?.workerStarted(ns, chunk, attempt, child);
    onLines(child.stderr!, (l) => listener?.workerLine(ns, chunk, attempt, l, child));
  };

  // The plotter and the operator, as their Deployments would keep them: started again when killed.
  // On the port it first got, as behind its Service: the operator asks it there what it holds.
  let plotter: ChildPlotter | undefined;
  let plotterPort = 0;
  const startPlotter = async () => {
    plotter = spawnPlotter({ out: out.path, amqpUrl: broker.url, port: plotterPort, onLine: (l) => listener?.plotterLine(l) });
    plotterPort = await plotter.port();
  };
  await startPlotter();
  defer(() => plotter?.kill('SIGKILL'));
  let operator: ChildProcess | undefined;
  let operatorLog = '';
  const startOperator = () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HZZ_')));
    operator = spawnTied(process.execPath, [
      CLI, 'operator', '--kubeconfig', cp.kubeconfig, '--worker-amqp-secret', `${SECRET}:url`,
      '--data-pvc', `${PV}=${SHARED_DATA}`, '--retry-backoff', '0.3', '--health-port', '0', '--plotter-url', `http://127.0.0.1:${plotterPort}`,
    ], { env: { ...env, HZZ_AMQP_URL: broker.url, [PARTIAL_MASTER_KEY_ENV]: masterKey }, stdio: ['ignore', 'ignore', 'pipe'] });
    operator.stderr!.on('data', (d: Buffer) => { operatorLog = (operatorLog + d.toString()).slice(-10_000); });
    onLines(operator.stderr!, (l) => listener?.operatorLine(l));
  };
  startOperator();
  defer(() => operator && killed(operator));

  const plotterStatus = async (id: string): Promise<{ chunks: { total: number | null; done: number }; complete: boolean } | undefined> => {
    try {
      const res = await plotter!.get(`/analyses/${id}/status`);
      return res.status === 200 ? JSON.parse(res.body.toString()) : undefined;
    } catch {
      return undefined; // down, being restarted
    }
  };

  /** One analysis through the cluster under a schedule of kills; resolves with its histograms.json and what happened. */
  // Per chunk, how long the fault-free run's worker took from its start to its broker connection.
  const toConnectMs = new Map<number, number>();
  const runAnalysis = async (label: string, schedule: Kill[], note: (line: string) => void) => {
    const t0 = Date.now();
    const stamp = () => `+${((Date.now() - t0) / 1000).toFixed(3)}s`;
    const ns = `chaos-${label}`;
    await kubectl(['create', 'namespace', ns]);
    await kubectl(['create', 'secret', 'generic', SECRET, '-n', ns, `--from-literal=url=${broker.url}`]);
    await kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: PV },
      spec: { accessModes: ['ReadOnlyMany'], storageClassName: '', volumeName: PV, resources: { requests: { storage: '1Gi' } } },
    }));

    // Kills: armed until their moment comes, then carried out once; restarts run in the background.
    const armed = new Set(schedule);
    const landed: { kill: Kill; chunk?: number }[] = [];
    const restarts: Promise<void>[] = [];
    let stored = 0;
    let id = '';
    // Every Job the run ever had, and the most that were active at once for one chunk.
    const jobs = new Map<string, Job>();
    const peakActive = new Map<number, number>();
    const informer = new Informer<Job>(client, { path: paths.jobs(ns), resyncMs: 0 }, (type, job) => {
      if (type === 'deleted') return;
      const isNew = !jobs.has(job.metadata.name);
      jobs.set(job.metadata.name, job);
      const c = chunkOf(job);
      const now = [...jobs.values()].filter((j) => chunkOf(j) === c && active(j)).length;
      peakActive.set(c, Math.max(peakActive.get(c) ?? 0, now));
      if (isNew) fire((k) => k.trigger.on === 'jobs-created' && k.trigger.count === jobs.size);
    });
    informer.start();
    await informer.waitForSync();

    // The kill is under way when this is called; the part comes back once it is dead and the pause is over.
    const restartLater = (kill: Kill, what: string, dead: Promise<unknown>, start: () => Promise<void> | void) => restarts.push((async () => {
      await dead;
      await sleep(kill.restartAfterMs);
      await start();
      note(`${stamp()} ${what} restarted`);
    })());
    function fire(match: (k: Kill) => boolean, worker?: ChildProcess): void {
      for (const kill of armed) {
        if (!match(kill)) continue;
        armed.delete(kill);
        if (worker) {
          const t = kill.trigger as { chunk: number };
          const { pid } = worker;
          killed(worker).then(() => {
            const hit = worker.signalCode === 'SIGKILL';
            if (hit) landed.push({ kill, chunk: t.chunk });
            note(`${stamp()} SIGKILL ${kill.kind} chunk ${t.chunk} (pid ${pid}): ${hit ? 'killed' : `had exited already (${worker.exitCode}), no kill`}`);
          });
        } else if (kill.kind === 'plotter') {
          const victim = plotter!;
          note(`${stamp()} SIGKILL plotter (pid ${victim.proc.pid}), ${stored} partials stored`);
          landed.push({ kill });
          restartLater(kill, 'plotter', victim.kill('SIGKILL'), startPlotter);
        } else if (kill.kind === 'operator') {
          const victim = operator!;
          note(`${stamp()} SIGKILL operator (pid ${victim.pid}), ${jobs.size} Jobs exist`);
          landed.push({ kill });
          restartLater(kill, 'operator', killed(victim), startOperator);
        } else {
          note(`${stamp()} SIGKILL RabbitMQ ${broker.nodename} (pid ${broker.pid()}), ${stored} partials stored, ${jobs.size} Jobs exist`);
          landed.push({ kill });
          restartLater(kill, 'RabbitMQ', broker.kill(), () => broker.start());
        }
      }
    }
    const startedAt = new Map<ChildProcess, number>();
    const connected = new Set<ChildProcess>();
    listener = {
      workerStarted: (n, chunk, attempt, child) => {
        if (n !== ns) return;
        startedAt.set(child, Date.now());
        for (const kill of armed) {
          const tr = kill.trigger;
          if (tr.on !== 'worker-started' || tr.chunk !== chunk || tr.attempt !== attempt) continue;
          const afterMs = Math.round(tr.fraction * toConnectMs.get(chunk)!);
          setTimeout(() => {
            if (!armed.has(kill)) return; // it came at the worker's connection already
            note(`${stamp()} chunk ${chunk}'s worker, ${afterMs} ms after its start (${toConnectMs.get(chunk)} ms to connect when fault-free): ${connected.has(child) ? 'already connected, the kill lands while publishing' : 'not connected yet'}`);
            fire((k) => k === kill, child);
          }, afterMs);
        }
      },
      workerLine: (n, chunk, attempt, line, child) => {
        if (n !== ns) return;
        if (line.msg === 'connected to broker') {
          connected.add(child);
          if (schedule.length === 0 && attempt === 0) toConnectMs.set(chunk, Date.now() - startedAt.get(child)!);
          // Faster than in the fault-free run: the analysing kill comes now, at the latest moment it can.
          const late = (k: Kill) => k.trigger.on === 'worker-started' && k.trigger.chunk === chunk && k.trigger.attempt === attempt;
          if ([...armed].some(late)) note(`${stamp()} chunk ${chunk}'s worker connected before its analysing kill was due: killed at its connection`);
          fire(late, child);
        }
        fire((k) => k.trigger.on === 'worker-line' && k.trigger.chunk === chunk && k.trigger.attempt === attempt && k.trigger.msg === line.msg, child);
      },
      plotterLine: (l) => {
        if (!id || l.analysis !== id) return;
        if (l.msg === 'stored plan') fire((k) => k.trigger.on === 'plan-stored');
        if (l.msg === 'stored partial') {
          stored++;
          fire((k) => k.trigger.on === 'stored-partials' && k.trigger.count === stored);
        }
      },
      operatorLine: (l) => {
        if (id && l.msg === 'plan published' && l.analysis === id) fire((k) => k.trigger.on === 'plan-published');
      },
    };

    try {
      await kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify({
        apiVersion: 'hzz.opendata.dev/v1alpha1', kind: 'HZZAnalysis', metadata: { name: 'chaos' },
        spec: { samples: SAMPLES, source: { pvc: PV }, chunkSize: CHUNK_SIZE, parallelism: 3, retriesPerChunk: 3 },
      }));
      // The id is known once the resource exists (its uid); the plan cannot be published before.
      const created = await client.get<HZZAnalysis>(paths.analysis(ns, 'chaos'));
      id = clusterAnalysisId(created, 1);
      let analysis = created;
      let pstatus: Awaited<ReturnType<typeof plotterStatus>>;
      const done = async (): Promise<boolean> => {
        analysis = await client.get<HZZAnalysis>(paths.analysis(ns, 'chaos'));
        if (analysis.status?.phase === 'Failed') throw new Error(`the analysis failed: ${JSON.stringify(analysis.status)}`);
        // Restarts are queued only when a kill fires, so with none armed the list is final.
        if (analysis.status?.phase !== 'Succeeded' || armed.size > 0) return false;
        await Promise.all(restarts);
        pstatus = await plotterStatus(id);
        if (!pstatus?.complete) return false;
        const depths = await Promise.all([QUEUES.partials, QUEUES.plans].map((q) => queueDepth(broker.url, q)));
        return depths.every((d) => d === 0);
      };
      // A transient error of a probe (the API server busy, say) is a "not yet"; a failed analysis is the end.
      const probe = () => done().catch((err: Error) => { if (err.message.startsWith('the analysis failed')) throw err; return false; });
      await waitUntil('the run to finish (operator Succeeded, plotter complete, every kill done, queues drained)', probe, RUN_TIMEOUT_MS, 200).catch((err: Error) => {
        throw new Error(`${err.message}; still armed: ${[...armed].map(describeKill).join(' | ') || 'none'}; operator: ${JSON.stringify(analysis.status)}; plotter: ${JSON.stringify(pstatus)}`);
      });
      await Promise.all(restarts);
      const dir = join(out.path, ...id.split('/'));
      return {
        id, seconds: (Date.now() - t0) / 1000, analysis, plotter: pstatus!, landed, jobs: [...jobs.values()], peakActive,
        histograms: JSON.parse(readFileSync(join(dir, 'histograms.json'), 'utf8')) as unknown,
        deadLetters: await Promise.all([QUEUES.partialsDead, QUEUES.plansDead].map((q) => queueDepth(broker.url, q))),
        tmpFiles: readdirSync(out.path, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp')),
      };
    } finally {
      listener = undefined;
      informer.stop();
      await Promise.allSettled(restarts);
    }
  };

  // The fault-free run: the baseline every chaos run must equal, itself equal to the in-process result.
  const baseline = await runAnalysis('fault-free', [], (l) => t.diagnostic(l));
  const fx = await analysisFixture(baseline.id, CHUNK_SIZE, SAMPLES);
  assert.deepEqual(baseline.histograms, histogramsOf(fx.expected), 'the fault-free cluster run equals the in-process analysis');
  const chunks = fx.plan.chunks;
  assert.equal(toConnectMs.size, chunks, "every fault-free worker's time to connect was seen");
  t.diagnostic(`fault-free run: ${chunks} chunks in ${baseline.seconds.toFixed(1)} s`);

  const kindsSeen = new Set<KillKind>();
  const failedSeeds: number[] = [];
  for (const seed of seeds) {
    const schedule = chaosSchedule(seed, chunks);
    const log: string[] = schedule.map((k, i) => `kill ${i + 1}: ${describeKill(k)}`);
    await t.test(`seed ${seed}`, { timeout: RUN_TIMEOUT_MS + 60_000 }, async (st: TestContext) => {
      try {
        const run = await runAnalysis(`s${seed}`, schedule, (l) => log.push(l));
        log.push(`finished in ${run.seconds.toFixed(1)} s`);
        run.landed.forEach((l) => kindsSeen.add(l.kill.kind));
        assert.ok(run.landed.length >= 3, `at least 3 kills landed (${run.landed.length})`);
        const same = compareHistograms(run.histograms, baseline.histograms, ['analysis']);
        assert.deepEqual(same.differences, [], 'histograms.json equals the fault-free one');
        log.push(`histograms.json equals the fault-free one${same.bitEqual ? ', bit for bit' : ' within 1e-12'}`);
        assert.deepEqual(run.deadLetters, [0, 0], 'the dead-letter queues are empty');
        assert.deepEqual(run.tmpFiles, [], "no .tmp files in the plotter's output folder");
        const op = run.analysis.status!;
        assert.deepEqual(
          { phase: op.phase, chunks: op.chunks?.succeeded, failed: op.chunks?.failed, path: op.output?.path },
          { phase: 'Succeeded', chunks, failed: 0, path: `/${run.id}/hzz_m4l.png` }, 'the operator status');
        assert.deepEqual({ chunks: run.plotter.chunks, complete: run.plotter.complete }, { chunks: { total: chunks, done: chunks }, complete: true }, 'the plotter status agrees');
        // One Job per attempt, a chunk's attempts in sequence, at most one active at a time, one
        // Complete; and a chunk needs a second attempt exactly when its worker was killed.
        const killedChunks = run.landed.filter((l) => l.chunk !== undefined).map((l) => l.chunk!);
        for (let c = 0; c < chunks; c++) {
          const mine = run.jobs.filter((j) => chunkOf(j) === c);
          const attempts = mine.map(attemptOf).sort((a, b) => a - b);
          const expected = killedChunks.includes(c) ? [0, 1] : [0];
          assert.deepEqual(attempts, expected, `chunk ${c}'s attempts: ${mine.map((j) => j.metadata.name).join(', ')}`);
          assert.equal(mine.filter((j) => finished(j, 'Complete')).length, 1, `chunk ${c} has one Complete Job`);
          assert.equal(run.peakActive.get(c), 1, `chunk ${c} had at most one active Job`);
        }
      } catch (err) {
        failedSeeds.push(seed);
        throw new Error(`chaos run failed; replay with HZZ_CHAOS_SEED=${seed} node test/run-tests.mjs chaos\n${log.join('\n')}\n--- operator log:\n${operatorLog.split('\n').slice(-10).join('\n')}\n${(err as Error).stack}`);
      } finally {
        for (const l of log) st.diagnostic(l);
      }
    });
  }
  t.diagnostic(`${seeds.length} runs in ${((Date.now() - started) / 1000).toFixed(0)} s; kinds of kill that landed: ${KILL_KINDS.filter((k) => kindsSeen.has(k)).join(', ')}`);
  assert.deepEqual(failedSeeds, [], `failing seeds: ${failedSeeds.join(', ')}`);
  if (seeds.length >= 20) assert.deepEqual(KILL_KINDS.filter((k) => !kindsSeen.has(k)), [], 'every kind of kill landed in some run');
});
