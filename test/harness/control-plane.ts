// A real Kubernetes control plane (etcd + kube-apiserver) for tests, in the spirit of
// controller-runtime's envtest: no nodes, no kubelet, no controllers, but the real API server with
// real admission, real validation and real RBAC. Binaries come from scripts/install-k8s-tools.sh.
//
// Each call starts its own pair of processes on free loopback ports in a fresh temp dir, so tests
// never share state; start-up takes a few seconds.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { alive, launch, removeOnExit, terminate, waitFor } from './processes.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  /** https://127.0.0.1:PORT */
  server: string;
  /** Path of a kubeconfig whose current context is the admin (group system:masters). */
  kubeconfig: string;
  /** The admin's bearer token. */
  token: string;
  toolsBin: string;
  /** The temp dir holding etcd's data, certificates, keys, logs and the kubeconfig. */
  dir: string;
  stop(): Promise<void>;
  kubectl(args: string[], opts?: { input?: string }): Promise<KubectlResult>;
}

export interface StartOptions {
  /** Shows up in the temp dir's name, which helps to find the logs of a failing test. */
  name?: string;
  /** More kube-apiserver flags, e.g. an audit policy (bench/scale.ts counts the operator's requests so). */
  apiserverArgs?: readonly string[];
}

const INSTALL_HINT = 'run `bash scripts/install-k8s-tools.sh`';
const READY_TIMEOUT_MS = 90_000; // generous: CI has two cores and may run a build beside us

export function toolsBin(): string {
  const toolsDir = process.env.HZZ_TOOLS_DIR || join(homedir(), '.cache', 'hzz-operator', 'tools');
  return join(toolsDir, 'bin');
}

function binary(bin: string, name: string): string {
  const path = join(bin, name);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${name} not found at ${path}: ${INSTALL_HINT} (or set HZZ_TOOLS_DIR)`);
  }
  return path;
}

const DIR_PREFIX = 'hzz-cp-';
const OWNER_FILE = 'owner.pid';
let swept = false;

// A test process killed with SIGKILL cannot clean up after itself: its children die with it
// (setpriv) but its temp dir stays. The first start in each process removes such leftovers, known
// by the owner.pid file naming a process that no longer exists.
async function sweepStaleDirs(): Promise<void> {
  if (swept) return;
  swept = true;
  const base = tmpdir();
  let entries: string[];
  try {
    entries = (await readdir(base)).filter((e) => e.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = join(base, entry);
    try {
      const pid = Number((await readFile(join(dir, OWNER_FILE), 'utf8')).trim());
      if (Number.isInteger(pid) && pid > 0 && !alive(pid)) await rm(dir, { recursive: true, force: true });
    } catch {
      // Not ours, or another process is removing it right now.
    }
  }
}

// All ports are held open together so that the three differ; the window between closing them and
// the children binding them is short, and a clash shows up as a start-up error with the log.
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const srv = createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve(srv));
      }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

interface HttpAnswer {
  status: number;
  body: string;
}

function get(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    };
    // The serving certificate is self-signed and may not exist yet while we poll; the readiness
    // probe only needs to reach the server, the kubeconfig carries the CA for real clients.
    const req =
      u.protocol === 'https:'
        ? request(u, { headers, rejectUnauthorized: false, timeout: 5_000 }, onResponse)
        : httpRequest(u, { headers, timeout: 5_000 }, onResponse);
    req.on('timeout', () => req.destroy(new Error(`timeout on ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

function kubeconfigFor(server: string, token: string, caFile: string): string {
  const cluster: Record<string, unknown> = { server };
  if (existsSync(caFile)) {
    cluster['certificate-authority-data'] = readFileSync(caFile).toString('base64');
  } else {
    cluster['insecure-skip-tls-verify'] = true;
  }
  // JSON is YAML, and kubectl, helm and @kubernetes/client-node all read it.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'hzz-test', cluster }],
      users: [{ name: 'hzz-admin', user: { token } }],
      contexts: [{ name: 'hzz-test', context: { cluster: 'hzz-test', user: 'hzz-admin' } }],
      'current-context': 'hzz-test',
      preferences: {},
    },
    null,
    2,
  );
}

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const bin = toolsBin();
  const etcdBin = binary(bin, 'etcd');
  const apiserverBin = binary(bin, 'kube-apiserver');
  const kubectlBin = binary(bin, 'kubectl');

  await sweepStaleDirs();
  const label = (opts.name ?? 'test').replace(/[^A-Za-z0-9_.-]/g, '-');
  const dir = await mkdtemp(join(tmpdir(), `${DIR_PREFIX}${label}-`));
  const forgetDir = removeOnExit(dir);
  await writeFile(join(dir, OWNER_FILE), `${process.pid}\n`);
  const children: ChildProcess[] = [];
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // The apiserver first, so that it does not log a burst of etcd connection errors.
    for (const child of [...children].reverse()) await terminate(child);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    forgetDir();
  };

  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const [etcdPort, peerPort, apiPort] = await freePorts(3);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcdLog = join(dir, 'etcd.log');
    const apiLog = join(dir, 'kube-apiserver.log');

    // The key pair is generated while etcd starts; both take a fraction of a second.
    const keys = promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });

    await mkdir(join(dir, 'etcd'), { mode: 0o700 });
    const etcd = launch(
      etcdBin,
      [
        '--name=hzz',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=hzz=${peerUrl}`,
        '--initial-cluster-state=new',
        // Throwaway data: skipping fsync is what makes etcd fast on a busy disk (envtest does it too).
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      etcdLog,
    );
    children.push(etcd);

    const token = randomBytes(32).toString('hex');
    const tokenFile = join(dir, 'tokens.csv');
    await writeFile(tokenFile, `${token},hzz-admin,hzz-admin-uid,"system:masters"\n`, { mode: 0o600 });
    const { publicKey, privateKey } = await keys;
    const saPub = join(dir, 'sa.pub');
    const saKey = join(dir, 'sa.key');
    await writeFile(saPub, publicKey);
    await writeFile(saKey, privateKey, { mode: 0o600 });
    const certDir = join(dir, 'certs');

    await waitFor(
      'etcd /health',
      async () => {
        const res = await get(`${etcdUrl}/health`);
        return res.status === 200 && res.body.includes('"health":"true"');
      },
      [{ child: etcd, name: 'etcd', log: etcdLog }],
      deadline,
    );

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = launch(
      apiserverBin,
      [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        `--token-auth-file=${tokenFile}`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        `--service-account-issuer=${server}`,
        '--allow-privileged=true',
        // ServiceAccount admission rejects pods until the controller-manager has created the
        // namespace's default service account, and no controller runs here (as in envtest).
        '--disable-admission-plugins=ServiceAccount',
        // One apiserver, no HA: nothing gains from the lease-based endpoint reconciler.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        '-v=1',
        ...(opts.apiserverArgs ?? []),
      ],
      apiLog,
    );
    children.push(apiserver);

    const watched = [
      { child: etcd, name: 'etcd', log: etcdLog },
      { child: apiserver, name: 'kube-apiserver', log: apiLog },
    ];
    const auth = { Authorization: `Bearer ${token}` };
    await waitFor('kube-apiserver /readyz', async () => (await get(`${server}/readyz`, auth)).status === 200, watched, deadline);
    // /readyz can turn ready just before the bootstrap controller has created the namespace
    // "default"; tests that create objects there right away would then be refused.
    await waitFor(
      'namespace default',
      async () => (await get(`${server}/api/v1/namespaces/default`, auth)).status === 200,
      watched,
      deadline,
    );

    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, kubeconfigFor(server, token, join(certDir, 'apiserver.crt')), { mode: 0o600 });

    const kubectl = (args: string[], kopts: { input?: string } = {}): Promise<KubectlResult> =>
      new Promise((resolve, reject) => {
        const child = spawn(
          kubectlBin,
          // The discovery cache goes into our temp dir, not the user's ~/.kube.
          [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dir, 'kubectl-cache')}`, ...args],
          {
            stdio: ['pipe', 'pipe', 'pipe'],
            env: { ...process.env, KUBECONFIG: kubeconfig, NO_PROXY: noProxy(), no_proxy: noProxy() },
          },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
        // kubectl may exit before reading stdin (e.g. on a flag error); that is not our failure.
        child.stdin.on('error', () => {});
        child.stdin.end(kopts.input ?? '');
      });

    return { server, kubeconfig, token, toolsBin: bin, dir, stop, kubectl };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

// A proxy configured for the registries must not catch the calls to our loopback server.
function noProxy(): string {
  const existing = process.env.NO_PROXY ?? process.env.no_proxy ?? '';
  return ['127.0.0.1', 'localhost', existing].filter(Boolean).join(',');
}
