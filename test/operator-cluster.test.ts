// The operator as a process (`hzz operator`) against a real cluster in miniature: kube-apiserver and
// etcd, kube-controller-manager's Job controller and garbage collector, a job runner that runs each
// pod's container as the real worker process, the real RabbitMQ (a vhost of its own) and an
// in-process plotter. One cluster for the whole file; each scenario has a namespace of its own.
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { toPartial } from '../core/analyze-chunk.js';
import { formatRanges } from '../core/chunk-ranges.js';
import type { AnalysisDefinition } from '../core/contracts/analysis-definition.js';
import { clusterAnalysisId } from '../core/contracts/analysis-id.js';
import type { PartialHistogram, Plan } from '../core/contracts/messages.js';
import { signPartial } from '../core/contracts/partial-signature.js';
import { emptyHistogram } from '../core/histogram.js';
import type { AnalysisStatus, HZZAnalysis } from '../operator/api/v1alpha1.js';
import { Informer } from '../operator/informer.js';
import { paths } from '../operator/kube-adapter.js';
import type { ConfigMap, Job, KubeList, Pod } from '../operator/kube-types.js';
import type { Lease } from '../operator/leader-election.js';
import { LABELS } from '../operator/naming.js';
import { readPlanRecord, tasksOf } from '../operator/plan-store.js';
import { PARTIAL_MASTER_KEY_ENV } from '../operator/config.js';
import type { PartialEvent, RejectedEvent } from '../plotter/inbox.js';
import { startPlotter } from '../plotter/plotter.js';
import { connect } from 'amqplib';
import { brokerFromUrl } from '../transport/broker-address.js';
import { partialEnvelope } from '../transport/envelope.js';
import { openPublishSession } from '../transport/publish-session.js';
import { HEADERS, QUEUES } from '../transport/topology.js';
import { spawnTied } from './harness/processes.js';
import { startTestCluster, type PodBehaviour } from './harness/job-runner.js';
import { createOperatorAccount } from './harness/operator-account.js';
import { analysisFixture, histogramsOf, tempDir } from './support/analysis-fixture.js';
import { createVhost, waitUntil } from './support/broker.js';
import { cleanupStack } from './support/cleanup.js';
import { compareHistograms } from './support/histograms-equal.js';

const HZZ = fileURLToPath(new URL('../cli/hzz.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/hzzanalysis-shared-data.yaml', import.meta.url));
const DEFINITION_2020 = JSON.parse(readFileSync(fileURLToPath(new URL('../../definitions/atlas-2020-4lep.json', import.meta.url)), 'utf8')) as AnalysisDefinition;
const SECRET = 'hzz-amqp';
// The operator's master key (the chart's Secret), the same across its restarts: the analyses' keys derive from it.
const masterKey = randomBytes(32).toString('hex');

type Behaviour = (pod: Pod) => PodBehaviour | undefined;
const labelOf = (o: { metadata: { labels?: Record<string, string> } }, l: string) => o.metadata.labels?.[l];
const finished = (j: Job, type: 'Complete' | 'Failed') => (j.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
const active = (j: Job) => !finished(j, 'Complete') && !finished(j, 'Failed');

test('operator: HZZAnalysis → chunk Jobs → worker pods → plotter, on a real API server', { timeout: 300_000 }, async (t) => {
  const defer = cleanupStack(t);
  const vhost = await createVhost('operator');
  defer(() => vhost.dispose());
  const out = tempDir('operator-plots');
  defer(() => out.dispose());
  const scratch = tempDir('operator-data');
  defer(() => scratch.dispose());
  // The operator takes completion from the plotter's HTTP API, as in the chart.
  const plotter = await startPlotter({ out: out.path, broker: brokerFromUrl(vhost.url), port: 0, host: '127.0.0.1' });
  defer(() => plotter.stop());
  const cluster = await startTestCluster({ name: 'operator' });
  defer(() => cluster.stop());
  const { cp, client, runner } = cluster;
  const behaviours = new Map<string, Behaviour>();
  runner.behaviour = (pod) => behaviours.get(pod.metadata.namespace!)?.(pod);

  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const res = await cp.kubectl(args, input === undefined ? {} : { input });
    assert.equal(res.code, 0, `kubectl ${args.join(' ')}:\n${res.stderr}`);
    return res.stdout;
  };
  // The example's own PersistentVolume says where the shared files are. kubectl prints one JSON
  // document per object, and only top-level ones meet at an unindented "}\n{".
  const printed = (await kubectl(['create', '--dry-run=client', '-o', 'json', '-f', EXAMPLE])).trim();
  const exampleObjects = JSON.parse(`[${printed.replace(/}\n{/g, '},{')}]`) as { kind: string; metadata: { name: string }; spec: { hostPath?: { path: string } } }[];
  const sharedPv = exampleObjects.find((o) => o.kind === 'PersistentVolume')!;
  const sharedDir = sharedPv.spec.hostPath!.path;
  const scratchPv = 'hzz-scratch';
  await kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: scratchPv },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadOnlyMany'], storageClassName: '', hostPath: { path: scratch.path } },
  }));

  // The operator runs as a service account bound to OPERATOR_RULES and nothing more, so a
  // permission missing from the documented list fails these tests.
  const account = await createOperatorAccount(cp);
  const sa = { namespace: account.namespace, name: account.name };
  const asOperator = `--as=${account.user}`;
  assert.deepEqual([(await cp.kubectl(['auth', 'can-i', 'create', 'jobs', asOperator])).stdout.trim(), (await cp.kubectl(['auth', 'can-i', 'create', 'pods', asOperator])).stdout.trim()], ['yes', 'no']);
  const operatorKubeconfig = account.kubeconfig;

  // The operator, as the chart runs it: `hzz operator`, with the broker URL in its environment.
  let logs = '';
  const logOf = new Map<ChildProcess, string>();
  const startOperator = (extraArgs: string[] = [], extraEnv: Record<string, string> = {}): ChildProcess => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HZZ_')));
    const child = spawnTied(process.execPath, [
      HZZ, 'operator', '--kubeconfig', operatorKubeconfig, '--worker-amqp-secret', `${SECRET}:url`,
      '--data-pvc', `${sharedPv.metadata.name}=${sharedDir}`, '--data-pvc', `${scratchPv}=${scratch.path}`,
      '--retry-backoff', '0.3', '--health-port', '0', '--plotter-url', `http://127.0.0.1:${plotter.port}`, '--partials-grace', '2', ...extraArgs,
    ], { env: { ...env, ...extraEnv, HZZ_AMQP_URL: vhost.url, [PARTIAL_MASTER_KEY_ENV]: masterKey }, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      logs = (logs + d).slice(-20_000);
      logOf.set(child, ((logOf.get(child) ?? '') + d).slice(-20_000));
    });
    return child;
  };
  const kill = (child: ChildProcess, signal: NodeJS.Signals): Promise<void> => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
  let operator = startOperator();
  defer(() => kill(operator, 'SIGTERM'));

  const eventually = async (what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> => {
    try {
      await waitUntil(what, probe, timeoutMs, 200);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- operator log:\n${logs.split('\n').slice(-15).join('\n')}`);
    }
  };
  const analysis = (ns: string, name: string) => client.get<HZZAnalysis>(paths.analysis(ns, name));
  const jobs = async (ns: string) => (await client.get<KubeList<Job>>(paths.jobs(ns))).items;
  // The operator deletes a succeeded chunk's Jobs once its status records the chunk: what the
  // scenarios check of the Jobs is their history, each Job as last seen, deleted ones included.
  const history = new Map<string, Job>();
  const jobWatch = new Informer<Job>(client, { path: paths.jobs(), resyncMs: 0 }, (_type, j) => history.set(`${j.metadata.namespace}/${j.metadata.name}`, j));
  jobWatch.start();
  defer(() => jobWatch.stop());
  await jobWatch.waitForSync();
  const everJobs = async (ns: string) => [...history.values()].filter((j) => j.metadata.namespace === ns);
  const condition = (s: AnalysisStatus | undefined, type: string) => s?.conditions?.find((c) => c.type === type);
  const phase = async (ns: string, name: string) => (await analysis(ns, name)).status?.phase;
  const namespace = async (ns: string, pvs: string[] = []): Promise<void> => {
    await kubectl(['create', 'namespace', ns]);
    await kubectl(['create', 'secret', 'generic', SECRET, '-n', ns, `--from-literal=url=${vhost.url}`]);
    for (const pv of pvs) {
      await kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify({
        apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: pv },
        spec: { accessModes: ['ReadOnlyMany'], storageClassName: '', volumeName: pv, resources: { requests: { storage: '1Gi' } } },
      }));
    }
  };
  const apply = (ns: string, name: string, spec: object) =>
    kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify({ apiVersion: 'hzz.opendata.dev/v1alpha1', kind: 'HZZAnalysis', metadata: { name }, spec }));

  await t.test('the informer reports every change across watch renewals', async () => {
    const ns = 'informer';
    await kubectl(['create', 'namespace', ns]);
    const seen: string[] = [];
    // One-second watches: the server ends each, and the informer resumes from the last version.
    const informer = new Informer<ConfigMap>(client, { path: paths.configMaps(ns), labelSelector: 'seen=yes', resyncMs: 0, watchSeconds: 1 },
      (type, cm) => seen.push(`${type} ${cm.metadata.name}`));
    informer.start();
    defer(() => informer.stop());
    await informer.waitForSync();
    const cm = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { seen: 'yes' } } });
    await kubectl(['create', '-n', ns, '-f', '-'], cm('one'));
    await new Promise((r) => setTimeout(r, 2_500));
    await kubectl(['create', '-n', ns, '-f', '-'], cm('two'));
    await kubectl(['delete', '-n', ns, 'configmap', 'one']);
    await eventually('three events', async () => seen.length >= 3);
    assert.deepEqual(seen, ['added one', 'added two', 'deleted one']);
  });

  await t.test('kubectl apply of the shared-data example runs its chunks as Jobs, reaches Ready, and plots what a local run computes', async () => {
    const ns = 'example';
    await namespace(ns);
    await kubectl(['apply', '-n', ns, '-f', EXAMPLE]);
    const name = exampleObjects.find((o) => o.kind === 'HZZAnalysis')!.metadata.name;
    await eventually('the first chunk Jobs', async () => (await jobs(ns)).length > 0);
    const first = (await jobs(ns))[0]!;
    assert.match(first.metadata.name, new RegExp(`^${name}-g1-c\\d+$`));
    assert.deepEqual([labelOf(first, LABELS.analysis), labelOf(first, LABELS.generation)], [name, '1']);
    assert.equal(first.metadata.ownerReferences?.[0]?.kind, 'HZZAnalysis');

    await eventually('the analysis to be Ready', async () => condition((await analysis(ns, name)).status, 'Ready')?.status === 'True');
    const status = (await analysis(ns, name)).status!;
    const id = clusterAnalysisId(await analysis(ns, name), 1);
    assert.equal(status.output?.path, `/${id}/hzz_m4l.png`);
    const fx = await analysisFixture(id, 250);
    assert.deepEqual([status.phase, status.progress, status.running], ['Succeeded', `${fx.tasks.length}/${fx.tasks.length}`, 0]);
    const [header, row] = (await kubectl(['get', 'hzz', '-n', ns])).trim().split('\n');
    assert.deepEqual(header!.split(/\s+/), ['NAME', 'PHASE', 'CHUNKS', 'RUNNING', 'AGE']);
    assert.match(row!, new RegExp(`^${name}\\s+Succeeded\\s+${fx.tasks.length}/${fx.tasks.length}\\s+0\\s+\\d+s$`));
    assert.equal((await everJobs(ns)).filter((j) => finished(j, 'Complete')).length, fx.tasks.length);
    await eventually('the succeeded chunks\' Jobs to be deleted', async () => (await jobs(ns)).length === 0);

    await plotter.waitForComplete(id, 30_000);
    const dir = join(out.path, ...id.split('/'));
    assert.equal(readFileSync(join(dir, 'hzz_m4l.png')).subarray(1, 4).toString(), 'PNG');
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'histograms.json'), 'utf8')), histogramsOf(fx.expected));
    const reasons = (await kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=HZZAnalysis', '-o', 'jsonpath={.items[*].reason}'])).split(' ');
    assert.ok(reasons.includes('Planned') && reasons.includes('Succeeded'), `events: ${reasons.join(', ')}`);
  });

  await t.test('partials another consumer takes from the vhost: not Succeeded until their chunks have run again and the plotter holds them', async () => {
    const ns = 'stolen';
    await namespace(ns, [sharedPv.metadata.name]);
    const name = 'robbed';
    // A second consumer on the partials queue (another run pointed at this vhost, say), of higher
    // priority, so it, not the plotter, gets what comes while it listens: it keeps the first two
    // partials of this analysis and hands anything else back.
    const thief = await connect(vhost.url);
    defer(() => thief.close().catch(() => {}));
    const ch = await thief.createChannel();
    await ch.prefetch(1);
    const stolen: number[] = [];
    const { consumerTag } = await ch.consume(QUEUES.partials, (m) => {
      if (!m) return;
      const mine = String(m.properties.headers?.[HEADERS.analysis] ?? '').startsWith(`${ns}/${name}/`);
      if (mine && stolen.length < 2) {
        stolen.push(Number(m.properties.headers![HEADERS.chunk]));
        ch.ack(m);
        if (stolen.length === 2) void ch.cancel(consumerTag);
      } else ch.nack(m, false, true);
    }, { priority: 10 });
    const phases: string[] = [];
    const watch = async (): Promise<AnalysisStatus | undefined> => {
      const s = (await analysis(ns, name)).status;
      if (s?.phase && phases.at(-1) !== s.phase) phases.push(s.phase);
      return s;
    };
    await apply(ns, name, { samples: ['data_A', 'data_B'], source: { pvc: sharedPv.metadata.name }, chunkSize: 50, parallelism: 5 });
    await eventually('the analysis to be Succeeded', async () => (await watch())?.phase === 'Succeeded', 90_000);
    stolen.sort((x, y) => x - y);
    assert.equal(stolen.length, 2, 'the other consumer took two partials');
    const status = (await analysis(ns, name)).status!;
    const total = status.chunks!.total;
    // Every first-round Job succeeded, yet the stolen chunks ran again, as round 1, and only they.
    const ever = await everJobs(ns);
    assert.deepEqual(ever.filter((j) => labelOf(j, LABELS.round) === '1').map((j) => Number(labelOf(j, LABELS.chunk))).sort((x, y) => x - y), stolen);
    assert.equal(ever.filter((j) => labelOf(j, LABELS.round) === '0' && finished(j, 'Complete')).length, total);
    assert.deepEqual(status.plotter, { ...status.plotter, reachable: true, storedChunks: `0-${total - 1}`, drawn: true, reruns: 1, rerunChunks: formatRanges(stolen) });
    assert.ok(!phases.slice(0, -1).includes('Succeeded'), `never Succeeded before: ${phases.join(' → ')}`);
    const reasons = (await kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=HZZAnalysis', '-o', 'jsonpath={.items[*].reason}'])).split(' ');
    assert.ok(reasons.includes('PartialsMissing'), `events: ${reasons.join(', ')}`);
    const id = clusterAnalysisId(await analysis(ns, name), 1);
    const fx = await analysisFixture(id, 50, ['data_A', 'data_B']);
    assert.deepEqual(histogramsOf(plotter.results(id)!), histogramsOf(fx.expected), 'the plotter counted every chunk once');
  });

  await t.test('kubectl scale changes how many chunk Jobs run at once, up and down', async () => {
    const ns = 'scale';
    await namespace(ns, [sharedPv.metadata.name]);
    behaviours.set(ns, () => ({ delayMs: 1_000 }));
    // 35 chunks of the four data files: enough that some are still waiting after each phase.
    await apply(ns, 'scaled', { samples: ['data'], source: { pvc: sharedPv.metadata.name }, chunkSize: 25, parallelism: 2 });
    let peak = 0;
    const watchPeak = async (until: () => Promise<boolean>, what: string, timeoutMs = 30_000) => {
      peak = 0;
      await eventually(what, async () => {
        peak = Math.max(peak, (await jobs(ns)).filter(active).length);
        return until();
      }, timeoutMs);
    };
    const succeeded = async () => (await everJobs(ns)).filter((j) => finished(j, 'Complete')).length;
    await watchPeak(async () => (await succeeded()) >= 4, 'four chunks at parallelism 2');
    assert.equal(peak, 2);

    await kubectl(['scale', '-n', ns, 'hzz/scaled', '--replicas=5']);
    await watchPeak(async () => runner.active(ns) >= 5, 'five chunks running at once');
    await watchPeak(async () => (await succeeded()) >= 10, 'chunks at parallelism 5');
    assert.equal(peak, 5);

    await kubectl(['scale', '-n', ns, 'hzz/scaled', '--replicas=1']);
    await eventually('the running chunks to drain to one', async () => (await jobs(ns)).filter(active).length <= 1);
    const drained = await succeeded();
    await watchPeak(async () => (await succeeded()) >= drained + 2, 'two chunks at parallelism 1');
    assert.equal(peak, 1);
    // status.running is the scale subresource's replica count.
    await eventually('status.running to be 1', async () => (await analysis(ns, 'scaled')).status?.running === 1);
    assert.equal(JSON.parse(await kubectl(['get', '-n', ns, 'hzz/scaled', '--subresource=scale', '-o', 'json'])).status.replicas, 1);

    await kubectl(['scale', '-n', ns, 'hzz/scaled', '--replicas=12']);
    await eventually('the analysis to succeed', async () => (await phase(ns, 'scaled')) === 'Succeeded');
    const all = await everJobs(ns);
    assert.deepEqual(all.map((j) => j.metadata.name).sort(), Array.from({ length: 35 }, (_, i) => `scaled-g1-c${i}`).sort(), 'one Job per chunk: scaling never re-plans');
  });

  await t.test('an operator killed mid-run and restarted resumes without duplicate Jobs or lost chunks', async () => {
    const ns = 'restart';
    await namespace(ns, [sharedPv.metadata.name]);
    behaviours.set(ns, () => ({ delayMs: 500 }));
    await apply(ns, 'resume', { samples: ['data', 'Ztt'], source: { pvc: sharedPv.metadata.name }, chunkSize: 150, parallelism: 4 });
    const planMap = async () => (await client.get<KubeList<ConfigMap>>(paths.configMaps(ns), { labelSelector: `${LABELS.analysis}=resume` })).items;
    await eventually('some chunks done', async () => (await everJobs(ns)).filter((j) => finished(j, 'Complete')).length >= 6);
    const planUid = (await planMap())[0]!.metadata.uid;
    await kill(operator, 'SIGKILL');
    // A create the operator sent just before it died may still land; after that, nothing may.
    await new Promise((r) => setTimeout(r, 500));
    const whileDown = (await everJobs(ns)).length;
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal((await everJobs(ns)).length, whileDown, 'nothing creates Jobs while the operator is down');
    operator = startOperator();

    await eventually('the analysis to succeed after the restart', async () => (await phase(ns, 'resume')) === 'Succeeded');
    const status = (await analysis(ns, 'resume')).status!;
    const total = status.chunks!.total;
    assert.ok(whileDown < total, `the kill came too late to test anything (${whileDown} of ${total} Jobs existed)`);
    assert.deepEqual((await everJobs(ns)).map((j) => j.metadata.name).sort(), Array.from({ length: total }, (_, i) => `resume-g1-c${i}`).sort());
    const runs = runner.runs.filter((r) => r.namespace === ns).map((r) => Number(r.labels[LABELS.chunk])).sort((a, b) => a - b);
    assert.deepEqual(runs, Array.from({ length: total }, (_, i) => i), 'every chunk ran exactly once');
    assert.deepEqual((await planMap()).map((cm) => cm.metadata.uid), [planUid], 'the stored plan was reused, not made again');
    const done = await plotter.waitForComplete(clusterAnalysisId(await analysis(ns, 'resume'), 1), 30_000);
    assert.deepEqual(done.chunks, { total, done: total });
  });

  await t.test('failed chunks: transient failures are retried, bad input is not; past maxFailedChunks the analysis fails naming the chunk', async () => {
    const ns = 'faults';
    await namespace(ns, [sharedPv.metadata.name, scratchPv]);
    for (const f of ['data_A.4lep.root', 'data_B.4lep.root', 'data_C.4lep.root', 'data_D.4lep.root']) copyFileSync(join(sharedDir, f), join(scratch.path, f));
    const injected = { code: 3, message: 'transient failure: injected by the job runner' };
    behaviours.set(ns, (pod) => {
      const [analysisName, chunk, attempt] = [LABELS.analysis, LABELS.chunk, LABELS.attempt].map((l) => labelOf(pod, l));
      if (analysisName === 'tolerant' && chunk === '3' && attempt !== '2') return { exit: injected };
      if (analysisName === 'hopeless' && chunk === '1') return { exit: injected };
      return undefined;
    });
    // Paused, so that a file can go bad between planning and running (the worker's exit 2).
    await apply(ns, 'tolerant', { samples: ['data'], source: { pvc: scratchPv }, chunkSize: 100, parallelism: 0, retriesPerChunk: 2, maxFailedChunks: 1 });
    await apply(ns, 'hopeless', { samples: ['data_B'], source: { pvc: sharedPv.metadata.name }, chunkSize: 100, retriesPerChunk: 1 });
    await eventually('the tolerant analysis to be planned', async () => (await phase(ns, 'tolerant')) === 'Pending');
    writeFileSync(join(scratch.path, 'data_A.4lep.root'), 'this is not a ROOT file\n');
    await kubectl(['scale', '-n', ns, 'hzz/tolerant', '--replicas=3']);

    await eventually('both analyses to finish', async () => (await phase(ns, 'tolerant')) === 'Succeeded' && (await phase(ns, 'hopeless')) === 'Failed');
    const names = (await everJobs(ns)).map((j) => j.metadata.name);
    const tolerant = (await analysis(ns, 'tolerant')).status!;
    assert.deepEqual([tolerant.progress, tolerant.chunks?.failed, condition(tolerant, 'Ready')?.status], ['9/10', 1, 'True']);
    const degraded = condition(tolerant, 'Degraded')!;
    assert.deepEqual([degraded.status, degraded.reason], ['True', 'ChunksFailed']);
    assert.match(degraded.message, /^chunk 0 \(data_A entries 0-39\) failed after 1 attempt: exit 2: bad input: .*data_A\.4lep\.root.*not a ROOT file/);
    assert.ok(names.includes('tolerant-g1-c0') && !names.includes('tolerant-g1-c0-a1'), 'bad input is not retried');
    assert.ok(['tolerant-g1-c3', 'tolerant-g1-c3-a1', 'tolerant-g1-c3-a2'].every((n) => names.includes(n)), `retries of chunk 3: ${names.join(', ')}`);

    const hopeless = (await analysis(ns, 'hopeless')).status!;
    const failed = condition(hopeless, 'Degraded')!;
    assert.deepEqual([failed.status, failed.reason, condition(hopeless, 'Ready')?.status], ['True', 'TooManyFailedChunks', 'False']);
    assert.equal(failed.message, '1 chunk failed, more than maxFailedChunks (0): chunk 1 (data_B entries 100-156) failed after 2 attempts: exit 3: transient failure: injected by the job runner');
    const events = await kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=HZZAnalysis', '-o', 'jsonpath={range .items[*]}{.involvedObject.name} {.reason}{"\\n"}{end}']);
    for (const e of ['tolerant RetryingChunk', 'tolerant ChunkFailed', 'hopeless RetryingChunk', 'hopeless Failed']) assert.ok(events.includes(e), `event ${e} in:\n${events}`);
  });

  await t.test('a worker that hangs is stopped at chunkTimeoutSeconds by the Job controller, and its chunk runs again', async () => {
    const ns = 'deadline';
    await namespace(ns, [sharedPv.metadata.name]);
    // The first attempt of every chunk hangs (Running, its container never starting); retries run.
    behaviours.set(ns, (pod) => (labelOf(pod, LABELS.attempt) === '0' ? { delayMs: 600_000 } : undefined));
    await apply(ns, 'stuck', { samples: ['data_A'], source: { pvc: sharedPv.metadata.name }, chunkSize: 100, chunkTimeoutSeconds: 2, retriesPerChunk: 1 });
    await eventually('the analysis to succeed on the retry', async () => (await phase(ns, 'stuck')) === 'Succeeded', 60_000);
    const all = await everJobs(ns);
    const first = all.find((j) => j.metadata.name === 'stuck-g1-c0')!;
    assert.equal((first.spec as { activeDeadlineSeconds: number }).activeDeadlineSeconds, 2);
    assert.equal(first.status?.conditions?.find((c) => c.type === 'Failed')?.reason, 'DeadlineExceeded');
    assert.ok(all.some((j) => j.metadata.name === 'stuck-g1-c0-a1' && finished(j, 'Complete')), all.map((j) => j.metadata.name).join(', '));
  });

  await t.test('a plan that cannot be made fails the analysis with the reason, and starts no Job', async () => {
    const ns = 'badplan';
    await namespace(ns, [sharedPv.metadata.name]);
    await apply(ns, 'notes', { catalogue: { samples: [{ name: 'notes', category: 'data', path: 'SOURCES.md' }] }, source: { pvc: sharedPv.metadata.name } });
    await apply(ns, 'elsewhere', { samples: ['data'], source: { pvc: 'not-mounted' } });
    await eventually('both plans to fail', async () => (await phase(ns, 'notes')) === 'Failed' && (await phase(ns, 'elsewhere')) === 'Failed');
    const reason = async (name: string) => condition((await analysis(ns, name)).status, 'Degraded');
    assert.deepEqual([(await reason('notes'))?.reason, (await reason('elsewhere'))?.reason], ['PlanFailed', 'PlanFailed']);
    assert.match((await reason('notes'))!.message, /^notes: .*SOURCES\.md: not a ROOT file/);
    assert.match((await reason('elsewhere'))!.message, /spec\.source\.pvc 'not-mounted': is not mounted in the operator/);
    assert.deepEqual(await jobs(ns), []);
  });

  await t.test('an inline definition with a changed cut plots what hzz run --analysis computes with that file; a bad formula fails the plan naming it', async () => {
    const ns = 'inline';
    await namespace(ns, [sharedPv.metadata.name]);
    const mine = structuredClone(DEFINITION_2020);
    mine.name = 'my-4mu';
    mine.cuts.find((c) => c.name === 'lepton type')!.formula = 'type_sum == 52';
    const bad = structuredClone(DEFINITION_2020);
    bad.name = 'typo';
    bad.cuts.find((c) => c.name === 'lepton charge')!.formula = 'sum(lep_chrage[0:4]) == 0';
    const common = { samples: ['data', 'Ztt'], source: { pvc: sharedPv.metadata.name }, chunkSize: 250, parallelism: 4 };
    await apply(ns, 'mine', { ...common, analysisDefinition: mine });
    await apply(ns, 'typo', { ...common, analysisDefinition: bad });

    await eventually('the inline definition to run', async () => condition((await analysis(ns, 'mine')).status, 'Ready')?.status === 'True', 120_000);
    const id = clusterAnalysisId(await analysis(ns, 'mine'), 1);
    await plotter.waitForComplete(id, 30_000);
    const cluster = JSON.parse(readFileSync(join(out.path, ...id.split('/'), 'histograms.json'), 'utf8')) as { samples: Record<string, { nSelected: number }> };

    const local = tempDir('inline-local');
    defer(() => local.dispose());
    const file = join(local.path, 'my-4mu.json');
    writeFileSync(file, JSON.stringify(mine));
    const run = spawnSync(process.execPath, [HZZ, 'run', '--analysis', file, '--data', sharedDir, '--samples', 'data,Ztt', '--chunk-size', '250', '--out', join(local.path, 'out')], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const expected = JSON.parse(readFileSync(join(local.path, 'out', 'histograms.json'), 'utf8')) as typeof cluster;
    assert.deepEqual(compareHistograms(cluster, expected, ['analysis', 'failures', 'wallSeconds']).differences, []);
    // The cut did change: 4μ only selects fewer of Z→ee's events than the stock definition.
    const stock = histogramsOf((await analysisFixture('stock', 250)).expected) as typeof cluster;
    assert.ok(cluster.samples.Zee!.nSelected < stock.samples.Zee!.nSelected, `Zee: ${cluster.samples.Zee!.nSelected} selected with 4μ only, ${stock.samples.Zee!.nSelected} without`);

    await eventually('the bad definition to fail', async () => (await phase(ns, 'typo')) === 'Failed');
    const degraded = condition((await analysis(ns, 'typo')).status, 'Degraded')!;
    t.diagnostic(`typo: ${degraded.reason}: ${degraded.message}`);
    assert.equal(degraded.reason, 'PlanFailed');
    assert.match(degraded.message, /^analysis typo: cut 'lepton charge': formula "sum\(lep_chrage\[0:4\]\) == 0" at character 5, here: "lep_chrage\[0:4\]\) == 0": unknown name 'lep_chrage'/);
    assert.deepEqual((await everJobs(ns)).filter((j) => labelOf(j, LABELS.analysis) === 'typo'), []);
  });

  await t.test('a spec change replans and deletes the old Jobs; deleting the analysis removes all it made; created again, it runs anew', async () => {
    const ns = 'lifecycle';
    await namespace(ns, [sharedPv.metadata.name]);
    behaviours.set(ns, () => ({ delayMs: 1_000 }));
    await apply(ns, 'evolving', { samples: ['data'], source: { pvc: sharedPv.metadata.name }, chunkSize: 50, parallelism: 2 });
    await eventually('generation 1 Jobs', async () => (await jobs(ns)).length >= 2);
    await kubectl(['patch', '-n', ns, 'hzz/evolving', '--type=merge', '-p', '{"spec":{"chunkSize":100}}']);
    await eventually('only generation 2 Jobs', async () => {
      const all = await jobs(ns);
      return all.length > 0 && all.every((j) => labelOf(j, LABELS.generation) === '2');
    });
    const status = (await analysis(ns, 'evolving')).status!;
    const uid8 = (await analysis(ns, 'evolving')).metadata.uid.replace(/-/g, '').slice(0, 8);
    assert.deepEqual([status.observedGeneration, status.planGeneration, status.output?.path], [2, 2, `/${ns}/evolving/g2-${uid8}/hzz_m4l.png`]);
    const planMaps = (await client.get<KubeList<ConfigMap>>(paths.configMaps(ns), { labelSelector: `${LABELS.analysis}=evolving` })).items;
    assert.deepEqual(planMaps.map((cm) => cm.metadata.name), ['evolving-g2-plan']);

    await kubectl(['delete', '-n', ns, 'hzz/evolving']);
    await eventually('the garbage collector to remove Jobs, pods and the plan', async () => {
      const [left, pods, maps] = await Promise.all([
        jobs(ns),
        client.get<KubeList<Pod>>(paths.pods(ns)),
        client.get<KubeList<ConfigMap>>(paths.configMaps(ns), { labelSelector: LABELS.analysis }),
      ]);
      return left.length === 0 && pods.items.length === 0 && maps.items.length === 0;
    });

    // Created again under its name, with another spec: generations restart at 1, but the id (the
    // output folder) is new, so the plotter runs it as the new analysis it is, not as the old one.
    await apply(ns, 'evolving', { samples: ['data_A'], source: { pvc: sharedPv.metadata.name }, chunkSize: 100, parallelism: 2 });
    await eventually('the re-created analysis to be Ready', async () => condition((await analysis(ns, 'evolving')).status, 'Ready')?.status === 'True');
    const again = (await analysis(ns, 'evolving')).status!.output!.path;
    assert.match(again, new RegExp(`^/${ns}/evolving/g1-[0-9a-f]{8}/hzz_m4l\\.png$`));
    assert.notEqual(again.split('/')[3]!.slice(3), uid8);
    const id = again.replace(/^\/|\/hzz_m4l\.png$/g, '');
    await plotter.waitForComplete(id, 30_000);
    const doc = JSON.parse(readFileSync(join(out.path, id, 'histograms.json'), 'utf8')) as { samples: Record<string, { nRead: number }> };
    assert.deepEqual(Object.keys(doc.samples), ['data_A']);
  });

  await t.test('each analysis has its own partial key: a Secret it owns, read by its Jobs, in the plan the plotter holds; a partial signed with another analysis\'s key is dead-lettered', async () => {
    // The same name in two namespaces: keyed-a runs, keyed-b's pods wait, so its plan is open when the forgery comes.
    const [nsA, nsB] = ['keyed-a', 'keyed-b'];
    const pvc = sharedPv.metadata.name;
    for (const ns of [nsA, nsB]) await namespace(ns, [pvc]);
    // A Secret of that name made beforehand by someone else, with a key of their choosing: replaced.
    await kubectl(['create', 'secret', 'generic', 'keyed-partial-key', '-n', nsA, `--from-literal=key=${'0'.repeat(64)}`]);
    behaviours.set(nsB, () => ({ delayMs: 120_000 }));
    for (const ns of [nsA, nsB]) await apply(ns, 'keyed', { samples: ['data_A'], source: { pvc }, chunkSize: 20, parallelism: 1 });
    type KeySecret = { immutable?: boolean; data?: Record<string, string>; metadata: { ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[] } };
    const secret = (ns: string) => client.get<KeySecret>(`/api/v1/namespaces/${ns}/secrets/keyed-partial-key`).catch(() => undefined);
    const storedPlan = (id: string): Plan | undefined => { try { return JSON.parse(readFileSync(join(out.path, id, 'plan.json'), 'utf8')) as Plan; } catch { return undefined; } };
    const keys = new Map<string, string>();
    const ids = new Map<string, string>();
    for (const ns of [nsA, nsB]) {
      await eventually(`the partial key Secret in ${ns}`, async () => (await secret(ns))?.metadata.ownerReferences !== undefined);
      const a = await analysis(ns, 'keyed');
      const s = (await secret(ns))!;
      assert.deepEqual(s.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['HZZAnalysis', 'keyed', a.metadata.uid, true]], 'owned by its analysis: the garbage collector deletes it with it');
      assert.equal(s.immutable, true);
      const key = Buffer.from(s.data?.key ?? '', 'base64').toString();
      // HMAC-SHA256(master key, uid), computed here apart from the operator's code.
      assert.equal(key, createHmac('sha256', masterKey).update(a.metadata.uid).digest('hex'));
      keys.set(ns, key);
      await eventually(`a chunk Job in ${ns}`, async () => (await everJobs(ns)).length > 0);
      const job = (await everJobs(ns))[0]!;
      const env = (job.spec as { template: { spec: { containers: { env: { name: string; valueFrom?: unknown }[] }[] } } }).template.spec.containers[0]!.env;
      assert.deepEqual(env.find((e) => e.name === 'HZZ_PARTIAL_KEY')?.valueFrom, { secretKeyRef: { name: 'keyed-partial-key', key: 'key' } });
      assert.ok(!JSON.stringify(job).includes(key), 'the key is in no Job');
      const maps = (await client.get<KubeList<ConfigMap>>(paths.configMaps(ns), { labelSelector: `${LABELS.analysis}=keyed` })).items;
      assert.equal(maps.length, 1);
      assert.ok(!JSON.stringify(maps[0]).includes(key), 'nor in the plan ConfigMap');
      const id = clusterAnalysisId(a, 1);
      ids.set(ns, id);
      await eventually(`the plotter to hold ${id}'s plan`, async () => storedPlan(id) !== undefined);
      assert.equal(storedPlan(id)!.partialKey, key, 'the plan the operator published carries the same key');
    }
    assert.notEqual(keys.get(nsA), keys.get(nsB), 'two analyses, two keys');
    const replaced = await kubectl(['get', 'events', '-n', nsA, '--field-selector', 'reason=PartialKeyReplaced', '-o', 'jsonpath={.items[*].message}']);
    assert.equal(replaced, `Secret ${nsA}/keyed-partial-key is not this analysis's (no controller reference to uid ${(await analysis(nsA, 'keyed')).metadata.uid}); replaced with the analysis's own`);
    // keyed-a's workers signed with the key from its Secret, and the plotter counted every chunk.
    const doneA = await plotter.waitForComplete(ids.get(nsA)!, 60_000);
    assert.equal(doneA.chunks.done, doneA.chunks.total);

    // A chunk pod of keyed-a holds keyed-a's key only: a well-formed partial for keyed-b's chunk 0,
    // signed with it, is refused; the same partial signed with keyed-b's key is taken.
    const idB = ids.get(nsB)!;
    const [planB] = (await client.get<KubeList<ConfigMap>>(paths.configMaps(nsB), { labelSelector: `${LABELS.analysis}=keyed` })).items;
    const record = readPlanRecord(planB!);
    assert.ok('plan' in record);
    const task = tasksOf(record)[0]!;
    const partial = toPartial(task, emptyHistogram(record.plan.binning, record.plan.cuts?.length ?? 0));
    const rejected: RejectedEvent[] = [];
    const stored: PartialEvent[] = [];
    const onRejected = (e: RejectedEvent) => rejected.push(e);
    const onPartial = (e: PartialEvent) => stored.push(e);
    plotter.on('rejected', onRejected);
    plotter.on('partial', onPartial);
    const session = openPublishSession(brokerFromUrl(vhost.url), { name: 'forger', retry: { initialMs: 100, maxMs: 1_000, budgetMs: 10_000 } });
    try {
      const publish = async (p: PartialHistogram) => { const m = partialEnvelope(p); await session.publisher.publish(m.exchange, m.routingKey, m.body, m.options); };
      await publish(signPartial(partial, keys.get(nsA)!));
      await eventually('the forged partial to be dead-lettered', async () => rejected.some((e) => e.analysis === idB));
      assert.deepEqual(rejected.filter((e) => e.analysis === idB).map((e) => [e.queue, e.reason]),
        [[QUEUES.partials, 'partial: chunk 0 is not from this analysis: its signature does not match its analysis\'s key']]);
      assert.deepEqual([stored.filter((e) => e.analysis === idB), plotter.status(idB)?.chunks.done], [[], 0], 'never stored');
      await publish(signPartial(partial, keys.get(nsB)!));
      await eventually('the rightly signed partial to be stored', async () => stored.some((e) => e.analysis === idB && e.chunk === 0));
    } finally {
      await session.close();
      plotter.off('rejected', onRejected);
      plotter.off('partial', onPartial);
    }
    await kubectl(['delete', '-n', nsB, 'hzz/keyed', '--wait=false']);
    await eventually('the garbage collector to delete keyed-b\'s Secret', async () => (await secret(nsB)) === undefined);
  });

  await t.test('two operators elect one leader through a Lease; the other takes over when it is killed, and a stopped leader gives the Lease up', async () => {
    await kill(operator, 'SIGTERM');
    const ns = 'leader';
    await namespace(ns, [sharedPv.metadata.name]);
    behaviours.set(ns, () => ({ delayMs: 200 }));
    const elect = ['--leader-elect', '--leader-election-namespace', sa.namespace, '--lease-duration', '3', '--renew-deadline', '2', '--retry-period', '0.5'];
    const replicas = { a: startOperator(elect, { HZZ_POD_NAME: 'op-a' }), b: startOperator(elect, { HZZ_POD_NAME: 'op-b' }) };
    defer(() => kill(replicas.a, 'SIGTERM'));
    defer(() => kill(replicas.b, 'SIGTERM'));
    const lease = () => client.get<Lease>(`/apis/coordination.k8s.io/v1/namespaces/${sa.namespace}/leases/hzz-operator`).catch(() => undefined);
    const holder = async () => (await lease())?.spec?.holderIdentity ?? '';
    await eventually('a leader', async () => /^op-[ab]_[0-9a-f]{8}$/.test(await holder()));
    const [leader, standby] = (await holder()).startsWith('op-a_') ? [replicas.a, replicas.b] : [replicas.b, replicas.a];
    const spec = { samples: ['data'], source: { pvc: sharedPv.metadata.name }, chunkSize: 200, parallelism: 2 };
    await apply(ns, 'first', spec);
    await eventually('the first analysis to succeed', async () => (await phase(ns, 'first')) === 'Succeeded');
    assert.match(logOf.get(standby) ?? '', /"msg":"waiting to lead"/);
    assert.doesNotMatch(logOf.get(standby) ?? '', /"msg":"(started|leadership acquired)"/, 'the standby reconciled while the leader led');

    // Killed, the leader cannot give the Lease up: the standby waits it out (3 s), then leads.
    await kill(leader, 'SIGKILL');
    await apply(ns, 'second', spec);
    await eventually('the standby to take the Lease over', async () => (await holder()).startsWith(standby === replicas.a ? 'op-a_' : 'op-b_'), 20_000);
    await eventually('the second analysis to succeed under the new leader', async () => (await phase(ns, 'second')) === 'Succeeded');
    assert.equal((await lease())?.spec?.leaseTransitions, 1);
    assert.match(logOf.get(standby) ?? '', /"msg":"leadership acquired".*"takeOver":true/);

    // Stopped (SIGTERM), a leader finishes its reconciles, gives the Lease up, and exits 0.
    await kill(standby, 'SIGTERM');
    assert.equal(standby.exitCode, 0, logOf.get(standby));
    assert.equal(await holder(), '');
  });
});
