import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterAnalysisId } from '../core/contracts/analysis-id.js';
import type { HZZAnalysis } from '../operator/api/v1alpha1.js';
import { paths } from '../operator/kube-adapter.js';
import { PARTIAL_MASTER_KEY_ENV } from '../operator/config.js';
import type { Job, KubeList } from '../operator/kube-types.js';
import { startPlotter } from '../plotter/plotter.js';
import { brokerFromUrl } from '../transport/broker-address.js';
import { startTestCluster } from '../test/harness/job-runner.js';
import { createOperatorAccount } from '../test/harness/operator-account.js';
import { spawnTied } from '../test/harness/processes.js';
import { tempDir } from '../test/support/analysis-fixture.js';
import { createVhost, waitUntil } from '../test/support/broker.js';
import { SHARED_DATA } from '../test/support/paths.js';
import { WorkerPool } from './scale-pool.js';
import { errorMessage } from '../core/contracts/errors.js';

/**
 * The control plane's cost as the chunk count grows (issue 14, point 4): one HZZAnalysis of about
 * 20, 200 and 2,000 chunks, each on a fresh kube-apiserver + etcd + kube-controller-manager (Job
 * controller, garbage collector) of the test harness, with the operator as a process of its own
 * (`hzz operator`, as a service account bound to its RBAC rules), the plotter and the real
 * RabbitMQ (a vhost of its own). The job runner hands each pod's worker to a pool of reusable
 * processes (bench/scale-pool.ts); Jobs, Pods and their status still go through the API server.
 *
 * What it prints for each size: the API requests the operator made per chunk (from an audit log
 * that records the operator's user only), its peak RSS, the status object's size, chunk pods
 * started per second, the plotter's time from the last partial to the drawn output, and the Jobs
 * left at the end. Usage: node dist/bench/scale.js [CHUNKS,...]  (default 20,200,2000)
 */
interface Size {
  chunks: number;
  samples: string[];
  chunkSize: number;
}

// Chunk counts of the shared files: the nearest to 20, 200 and 2,000 their entries allow.
const SIZES: Size[] = [
  { chunks: 20, samples: ['data', 'Ztt'], chunkSize: 207 },
  { chunks: 200, samples: ['data_A', 'data_B', 'data_C', 'data_D', 'Zee', 'ttbar_lep'], chunkSize: 14 },
  { chunks: 1982, samples: ['data_D', 'Zee', 'Zmumu'], chunkSize: 1 },
];
const PARALLELISM = 40;
const POOL_PROCESSES = 3;
const TIMEOUT_MS = 30 * 60_000;
const HZZ = fileURLToPath(new URL('../cli/hzz.js', import.meta.url));
const NS = 'bench';
const SECRET = 'hzz-amqp';
const PV = 'shared-data';

interface Result {
  chunks: number;
  seconds: number;
  requests: Record<string, number>;
  rssMiB: number;
  statusBytes: number;
  podsPerSecond: number;
  /** From the last partial stored by the plotter to its outputs drawn from all of them. */
  mergeS: number;
  jobsLeft: number;
}

// The operator's requests only, one audit event each once answered (a watch: once it ends).
const auditPolicy = (user: string): string => JSON.stringify({
  apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived', 'ResponseStarted'],
  rules: [{ level: 'Metadata', users: [user] }, { level: 'None' }],
});

async function measure(size: Size): Promise<Result> {
  const scratch = tempDir(`scale-${size.chunks}`);
  const stack: (() => Promise<unknown> | void)[] = [() => scratch.dispose()];
  try {
    // The operator's user name is known before the API server starts: the account is made after.
    const account = { namespace: 'hzz-system', name: 'hzz-operator' };
    const policy = join(scratch.path, 'audit-policy.json');
    const auditLog = join(scratch.path, 'audit.log');
    writeFileSync(policy, auditPolicy(`system:serviceaccount:${account.namespace}:${account.name}`));
    const pool = new WorkerPool(POOL_PROCESSES);
    stack.push(() => pool.close());
    const cluster = await startTestCluster({
      name: `scale-${size.chunks}`,
      apiserverArgs: [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, '--audit-log-format=json'],
      // The controller-manager's default client limit (20 requests/s) would set the pace of pods,
      // not the operator; a cluster running thousands of Jobs raises it too.
      controllerManagerArgs: ['--kube-api-qps=300', '--kube-api-burst=600', '--concurrent-job-syncs=20'],
      worker: pool.container,
    });
    stack.push(() => cluster.stop());
    const { cp, client, runner } = cluster;
    const operatorAccount = await createOperatorAccount(cp, account);
    const kubectl = async (args: string[], input?: string): Promise<void> => {
      const res = await cp.kubectl(args, input === undefined ? {} : { input });
      if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${res.stderr}`);
    };

    const vhost = await createVhost(`scale-${size.chunks}`);
    stack.push(() => vhost.dispose());
    await kubectl(['create', 'namespace', NS]);
    await kubectl(['create', 'secret', 'generic', SECRET, '-n', NS, `--from-literal=url=${vhost.url}`]);
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: PV }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadOnlyMany'], storageClassName: '', hostPath: { path: SHARED_DATA } } },
        { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: PV, namespace: NS }, spec: { accessModes: ['ReadOnlyMany'], storageClassName: '', volumeName: PV, resources: { requests: { storage: '1Gi' } } } },
      ],
    }));

    const out = join(scratch.path, 'plots');
    const plotter = await startPlotter({ out, broker: brokerFromUrl(vhost.url), port: 0, host: '127.0.0.1' });
    stack.push(() => plotter.stop());
    let lastStored = 0;
    let completedAt = 0;
    plotter.on('partial', () => { lastStored = Date.now(); });
    plotter.on('complete', () => { completedAt = Date.now(); });

    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HZZ_')));
    const operator = spawnTied(process.execPath, [
      HZZ, 'operator', '--kubeconfig', operatorAccount.kubeconfig, '--worker-amqp-secret', `${SECRET}:url`,
      '--data-pvc', `${PV}=${SHARED_DATA}`, '--health-port', '0', '--plotter-url', `http://127.0.0.1:${plotter.port}`,
    ], { env: { ...env, HZZ_AMQP_URL: vhost.url, [PARTIAL_MASTER_KEY_ENV]: randomBytes(32).toString('hex') }, stdio: ['ignore', 'ignore', 'pipe'] });
    let operatorLog = '';
    operator.stderr!.setEncoding('utf8').on('data', (d: string) => { operatorLog = (operatorLog + d).slice(-5_000); });
    stack.push(() => stopProcess(operator));

    const started = Date.now();
    await kubectl(['apply', '-n', NS, '-f', '-'], JSON.stringify({
      apiVersion: 'hzz.opendata.dev/v1alpha1', kind: 'HZZAnalysis', metadata: { name: 'scale' },
      spec: { samples: size.samples, source: { pvc: PV }, chunkSize: size.chunkSize, parallelism: PARALLELISM },
    }));
    let statusBytes = 0;
    let analysis: HZZAnalysis | undefined;
    try {
      await waitUntil(`the analysis of ${size.chunks} chunks to succeed`, async () => {
        analysis = await client.get<HZZAnalysis>(paths.analysis(NS, 'scale'));
        statusBytes = Math.max(statusBytes, Buffer.byteLength(JSON.stringify(analysis.status ?? {})));
        if (analysis.status?.phase === 'Failed') throw new Error(`the analysis failed: ${JSON.stringify(analysis.status.conditions)}`);
        return analysis.status?.phase === 'Succeeded';
      }, TIMEOUT_MS, 250);
      await plotter.waitForComplete(clusterAnalysisId(analysis!, 1), 60_000);
    } catch (err) {
      throw new Error(`${errorMessage(err)}\n--- operator log:\n${operatorLog}`);
    }
    const seconds = (Date.now() - started) / 1000;
    if (analysis!.status?.chunks?.total !== size.chunks) throw new Error(`planned ${analysis!.status?.chunks?.total} chunks, expected ${size.chunks}`);

    // The last chunks' Jobs go in the reconcile after the final status write: give it a moment.
    const jobsNow = async () => (await client.get<KubeList<Job>>(paths.jobs(NS))).items.length;
    await waitUntil('the finished Jobs to be deleted', async () => (await jobsNow()) === 0, 30_000, 500).catch(() => {});
    const jobsLeft = await jobsNow();
    const rssMiB = peakRssKiB(operator.pid!) / 1024;
    // Stopped before the audit log is read: its watches end, and are recorded, as it stops.
    await stopProcess(operator);
    const requests: Record<string, number> = {};
    for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
      if (!line) continue;
      const event = JSON.parse(line) as { verb: string; objectRef?: { resource?: string; subresource?: string } };
      const key = `${event.verb} ${event.objectRef?.resource ?? '-'}${event.objectRef?.subresource ? `/${event.objectRef.subresource}` : ''}`;
      requests[key] = (requests[key] ?? 0) + 1;
    }
    const starts = runner.runs.map((r) => r.startedAt).sort((a, b) => a - b);
    return {
      chunks: size.chunks, seconds, requests, rssMiB, statusBytes,
      podsPerSecond: (starts.length - 1) / ((starts.at(-1)! - starts[0]!) / 1000),
      mergeS: (completedAt - lastStored) / 1000,
      jobsLeft,
    };
  } finally {
    for (const undo of stack.reverse()) await Promise.resolve(undo()).catch(() => {});
  }
}

/** VmHWM: the process's peak resident set, in KiB. */
function peakRssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(line?.match(/(\d+)/)?.[1]);
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const total = (r: Result): number => Object.values(r.requests).reduce((a, b) => a + b, 0);

function report(results: Result[]): string {
  const rows = results.map((r) => [
    String(r.chunks), (total(r) / r.chunks).toFixed(2), r.rssMiB.toFixed(1), String(r.statusBytes), r.podsPerSecond.toFixed(1),
    r.mergeS.toFixed(2), String(r.jobsLeft), r.seconds.toFixed(1),
  ]);
  const head = ['chunks', 'API req/chunk', 'operator peak RSS MiB', 'status bytes', 'pods started/s', 'merge s after last partial', 'Jobs left', 'wall s'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lines = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), ''];
  const verbs = [...new Set(results.flatMap((r) => Object.keys(r.requests)))].sort();
  lines.push('operator requests per chunk, by verb and resource:');
  for (const v of verbs) lines.push(`  ${v.padEnd(34)} ${results.map((r) => ((r.requests[v] ?? 0) / r.chunks).toFixed(3).padStart(9)).join(' ')}`);
  const [small, large] = [results.at(-2), results.at(-1)];
  if (small && large && small !== large) {
    const ratio = (f: (r: Result) => number) => (f(large) / f(small)).toFixed(2);
    lines.push('', `${small.chunks} → ${large.chunks} chunks: API req/chunk ×${ratio((r) => total(r) / r.chunks)}, operator peak RSS ×${ratio((r) => r.rssMiB)}, status size ×${ratio((r) => r.statusBytes)}, pods/s ×${ratio((r) => r.podsPerSecond)}`);
  }
  return lines.join('\n');
}

const wanted = process.argv[2] ? process.argv[2].split(',').map(Number) : SIZES.map((s) => s.chunks);
const results: Result[] = [];
for (const chunks of wanted) {
  const size = SIZES.find((s) => s.chunks === chunks);
  if (!size) throw new Error(`no size of ${chunks} chunks: choose among ${SIZES.map((s) => s.chunks).join(', ')}`);
  process.stderr.write(`scale bench: ${chunks} chunks …\n`);
  results.push(await measure(size));
  process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
}
process.stdout.write(`${report(results)}\n`);
