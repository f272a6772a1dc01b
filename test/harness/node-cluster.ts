// A real single-node Kubernetes cluster for tests: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler, and a node made of containerd + runc, the kubelet, kube-proxy, the CNI bridge and
// CoreDNS, so that pods run in real containers from real images. It is what kind runs inside its
// node container, laid out on this machine instead (docs/test-node.md).
//
// Everything lives in a network namespace of its own, made here: the node's address, the pods'
// bridge and the service rules exist only inside it, no route leads out, and deleting it takes
// every link, address and iptables rule with it. Processes run in it through nsenter (network
// only: the node's mounts must stay visible to the kubelet and containerd alike), and so do the
// kubectl and helm calls of a test. Binaries come from scripts/install-k8s-tools.sh, images from
// scripts/build-images.sh.
import { execFile, type ChildProcess } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { alive, launch, spawnTied, tail, terminate, toolsBin, waitFor, type KubectlResult } from './control-plane.js';
import { leftovers, readHostState, type HostState } from './host-state.js';
import { coreDnsManifest } from './node-manifests.js';

const run = promisify(execFile);

export const NODE_NAME = 'hzz-node';
/** The node's address, on the namespace's loopback device: kubelet refuses 127/8 as a node IP. */
export const NODE_IP = '10.88.0.2';
const POD_CIDR = '10.244.0.0/24';
const SERVICE_CIDR = '10.96.0.0/16';
const DNS_IP = '10.96.0.10';
const API_PORT = 6443;
const DIR_PREFIX = 'hzz-node-';
const READY_TIMEOUT_MS = 180_000;

export interface NodeImage {
  /** What pods name in `image:` (containerd's normalised name, e.g. docker.io/library/x:1). */
  ref: string;
  /** An archive for `ctr images import`. */
  archive: string;
}

export interface NodeClusterOptions {
  /** Images imported into the node before the kubelet starts; the pause and CoreDNS images among them. */
  images: NodeImage[];
  pauseImage: string;
  coreDnsImage: string;
  /** Called with a line per step and its duration, for the test's log. */
  log?: (line: string) => void;
}

export interface RunResult extends KubectlResult {
  /** The command line, as a person would type it (without the namespace prefix). */
  command: string;
}

export interface NodeCluster {
  dir: string;
  netns: string;
  kubeconfig: string;
  /**
   * Runs a command inside the node's network namespace, as the cluster's admin (KUBECONFIG), with
   * a HOME of its own for kubectl's and helm's caches.
   */
  exec(cmd: string, args: string[], opts?: ExecOptions): Promise<RunResult>;
  kubectl(args: string[], opts?: ExecOptions): Promise<RunResult>;
  helm(args: string[], opts?: ExecOptions): Promise<RunResult>;
  /** A long-running kubectl (port-forward, say) in the namespace; the caller ends it. */
  kubectlInBackground(args: string[]): ChildProcess;
  /** Tears everything down and says what, if anything, is left on the machine. */
  stop(): Promise<string[]>;
}

/** The parts started, in order; stopped in reverse. */
interface Part {
  name: string;
  child: ChildProcess;
  log: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function nsenter(netns: string, cmd: string, args: string[]): [string, string[]] {
  return ['nsenter', [`--net=/run/netns/${netns}`, '--', cmd, ...args]];
}

interface ExecOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
}

async function inNetns(netns: string, cmd: string, args: string[], opts: ExecOptions = {}): Promise<KubectlResult> {
  const [file, argv] = nsenter(netns, cmd, args);
  return new Promise((resolve) => {
    const child = execFile(file, argv, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? '');
  });
}

async function sh(cmd: string, args: string[]): Promise<string> {
  return (await run(cmd, args, { maxBuffer: 16 << 20 })).stdout;
}

function kubeconfig(server: string, caData: string, user: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'hzz-node', cluster: { server, 'certificate-authority-data': caData } }],
    users: [{ name: 'user', user }],
    contexts: [{ name: 'hzz-node', context: { cluster: 'hzz-node', user: 'user' } }],
    'current-context': 'hzz-node',
  });
}

/** Mount points at or below dir, deepest first, as the kernel lists them. */
function mountsUnder(prefix: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === prefix || m.startsWith(`${prefix}/`))
    .sort((a, b) => b.length - a.length);
}

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Every cgroup folder below the kubelet's kubepods, deepest first, across the v1 controllers. */
function podCgroups(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e);
      try {
        if (statSync(p).isDirectory()) walk(p);
      } catch {
        /* vanished */
      }
    }
    found.push(dir);
  };
  for (const controller of existsSync(CGROUP_ROOT) ? readdirSync(CGROUP_ROOT) : []) {
    const top = join(CGROUP_ROOT, controller, 'kubepods');
    if (existsSync(top)) walk(top);
  }
  return found;
}

/**
 * Ends whatever a node in dir with network namespace netns left running or mounted: the pods'
 * processes (by cgroup), containerd's shims (by their socket in dir), the mounts under dir and the
 * pods' network namespaces, the node's network namespace, the pod cgroups. Used by stop() and, for a
 * test process that died without stopping, by the next start.
 */
async function dismantle(dir: string, netns: string, before: Leftovers): Promise<void> {
  const killAll = (pred: (pid: number, cmdline: string, cgroup: string) => boolean): void => {
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      let cmdline = '';
      let cgroup = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      } catch {
        continue;
      }
      if (pred(pid, cmdline, cgroup)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  };
  // Containers first (their shims would report them dead and containerd would restart nothing: it
  // is stopped right after), then whatever still names the node's folder.
  killAll((_pid, _cmd, cgroup) => cgroup.includes('/kubepods'));
  killAll((_pid, cmdline) => cmdline.includes(dir));
  await sleep(300);
  for (let i = 0; i < 3; i++) {
    for (const m of mountsUnder(dir)) await run('umount', ['-l', m]).catch(() => {});
    if (mountsUnder(dir).length === 0) break;
    await sleep(200);
  }
  for (const ns of existsSync('/run/netns') ? readdirSync('/run/netns') : []) {
    if (ns.startsWith('cni-') && !before.podNetns.has(ns)) {
      await run('umount', [`/run/netns/${ns}`]).catch(() => {});
      rmSync(`/run/netns/${ns}`, { force: true });
    }
  }
  await run('ip', ['netns', 'del', netns]).catch(() => {});
  for (let i = 0; i < 10; i++) {
    const left = podCgroups();
    if (left.length === 0) break;
    for (const cg of left) {
      try {
        rmdirSync(cg);
      } catch {
        /* still has a process, or a child that goes first next round */
      }
    }
    await sleep(200);
  }
  // containerd 1.6 puts its shims' sockets in /run/containerd/s whatever its state dir says.
  for (const f of existsSync(SHIM_SOCKETS) ? readdirSync(SHIM_SOCKETS) : []) {
    if (!before.shimSockets.has(f)) rmSync(join(SHIM_SOCKETS, f), { force: true });
  }
  if (!before.containerdRun) rmSync('/run/containerd', { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

const SHIM_SOCKETS = '/run/containerd/s';

/** Machine-wide names a node creates but does not own alone: only the new ones are removed. */
interface Leftovers {
  podNetns: Set<string>;
  shimSockets: Set<string>;
  containerdRun: boolean;
}

function machineNames(): Leftovers {
  const list = (d: string) => new Set(existsSync(d) ? readdirSync(d) : []);
  return { podNetns: list('/run/netns'), shimSockets: list(SHIM_SOCKETS), containerdRun: existsSync('/run/containerd') };
}

/** Nodes of test processes that died before stopping theirs: their folder names a dead owner. */
async function sweepStale(): Promise<void> {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    try {
      const [pid, netns] = (await readFile(join(dir, 'owner'), 'utf8')).trim().split(' ');
      if (!alive(Number(pid))) await dismantle(dir, netns!, { podNetns: new Set(), shimSockets: new Set(), containerdRun: true });
    } catch {
      /* not ours, or being removed */
    }
  }
}

/** CA, and a client certificate signed by it, with which the API server proves itself to the kubelet. */
async function kubeletClientCerts(pki: string): Promise<void> {
  const ca = join(pki, 'kubelet-client-ca');
  const client = join(pki, 'apiserver-kubelet-client');
  await sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=hzz-node-kubelet-client-ca', '-keyout', `${ca}.key`, '-out', `${ca}.crt`]);
  await sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/O=system:masters/CN=kube-apiserver-kubelet-client', '-keyout', `${client}.key`, '-out', `${client}.csr`]);
  await sh('openssl', ['x509', '-req', '-days', '2', '-in', `${client}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${client}.crt`]);
}

export async function startNodeCluster(opts: NodeClusterOptions): Promise<NodeCluster> {
  const bin = toolsBin();
  const log = opts.log ?? (() => {});
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    const result = await fn();
    log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return result;
  };

  await sweepStale();
  const namesBefore = machineNames();
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  // Pods' users (RabbitMQ's 999, the app's 10001) traverse it to reach their hostPath volumes.
  await chmod(dir, 0o755);
  const netns = `hzz-node-${process.pid}`;
  await writeFile(join(dir, 'owner'), `${process.pid} ${netns}\n`);
  const hostBefore: HostState = readHostState([dir]);
  const parts: Part[] = [];
  let stopped = false;
  const removeOnExit = (): void => {
    // Synchronous last resort for an ending process: children die with it (setpriv), the rest is
    // swept by the next start.
    for (const p of parts) p.child.kill('SIGKILL');
  };
  process.once('exit', removeOnExit);

  const stop = async (): Promise<string[]> => {
    if (stopped) return [];
    stopped = true;
    process.removeListener('exit', removeOnExit);
    for (const p of [...parts].reverse()) await terminate(p.child);
    await dismantle(dir, netns, namesBefore);
    return leftovers(hostBefore, readHostState([dir]));
  };

  const start = (name: string, cmd: string, args: string[]): Part => {
    const logFile = join(dir, 'logs', `${name}.log`);
    const [file, argv] = nsenter(netns, cmd, args);
    const part = { name, child: launch(file, argv, logFile), log: logFile };
    parts.push(part);
    return part;
  };
  const watched = () => parts.map((p) => ({ child: p.child, name: p.name, log: p.log }));
  const ready = (what: string, check: () => Promise<boolean>) => waitFor(what, check, watched(), Date.now() + READY_TIMEOUT_MS);

  try {
    const pki = join(dir, 'pki');
    const cfg = join(dir, 'config');
    await Promise.all([pki, cfg, join(dir, 'logs'), join(dir, 'cni', 'net.d')].map((d) => mkdir(d, { recursive: true })));

    await step('network namespace', async () => {
      await sh('ip', ['netns', 'add', netns]);
      const inside = (args: string[]) => sh('nsenter', [`--net=/run/netns/${netns}`, '--', ...args]);
      await inside(['ip', 'link', 'set', 'lo', 'up']);
      await inside(['ip', 'addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
      // Pods reach services and each other through the node: routing and bridge netfilter on, as
      // kubeadm's preflight asks. Both settings belong to this namespace only.
      await inside(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1']);
    });

    const tokens = Object.fromEntries(['admin', 'node', 'proxy', 'scheduler', 'controller-manager'].map((k) => [k, randomBytes(24).toString('hex')]));
    const [keys] = await Promise.all([
      promisify(generateKeyPair)('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      }),
      kubeletClientCerts(pki),
    ]);
    await writeFile(join(pki, 'sa.pub'), keys.publicKey);
    await writeFile(join(pki, 'sa.key'), keys.privateKey, { mode: 0o600 });
    // The identities the bootstrap RBAC policy already knows, so each part has only its own rights.
    await writeFile(
      join(pki, 'tokens.csv'),
      [
        `${tokens.admin},hzz-admin,hzz-admin,"system:masters"`,
        `${tokens.node},system:node:${NODE_NAME},${NODE_NAME},"system:nodes"`,
        `${tokens.proxy},system:kube-proxy,kube-proxy`,
        `${tokens.scheduler},system:kube-scheduler,kube-scheduler`,
        `${tokens['controller-manager']},system:kube-controller-manager,kube-controller-manager`,
      ].join('\n') + '\n',
      { mode: 0o600 },
    );

    const server = `https://${NODE_IP}:${API_PORT}`;
    const curlStatus = async (url: string, token?: string): Promise<number> => {
      const r = await inNetns(netns, 'curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', ...(token ? ['-H', `Authorization: Bearer ${token}`] : []), url]);
      return Number(r.stdout) || 0;
    };

    await step('etcd', async () => {
      await mkdir(join(dir, 'etcd'), { mode: 0o700 });
      start('etcd', join(bin, 'etcd'), [
        '--name=hzz-node',
        `--data-dir=${join(dir, 'etcd')}`,
        '--listen-client-urls=http://127.0.0.1:2379',
        '--advertise-client-urls=http://127.0.0.1:2379',
        '--listen-peer-urls=http://127.0.0.1:2380',
        '--initial-advertise-peer-urls=http://127.0.0.1:2380',
        '--initial-cluster=hzz-node=http://127.0.0.1:2380',
        // Throwaway data, as in test/harness/control-plane.ts.
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ]);
      await ready('etcd /health', async () => (await curlStatus('http://127.0.0.1:2379/health')) === 200);
    });

    await step('kube-apiserver', async () => {
      start('kube-apiserver', join(bin, 'kube-apiserver'), [
        '--etcd-servers=http://127.0.0.1:2379',
        `--cert-dir=${join(pki, 'apiserver')}`,
        `--secure-port=${API_PORT}`,
        // Inside the namespace "every address" is the node's loopback and the pods' bridge.
        '--bind-address=0.0.0.0',
        `--advertise-address=${NODE_IP}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        `--token-auth-file=${join(pki, 'tokens.csv')}`,
        `--service-account-key-file=${join(pki, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--kubelet-client-certificate=${join(pki, 'apiserver-kubelet-client.crt')}`,
        `--kubelet-client-key=${join(pki, 'apiserver-kubelet-client.key')}`,
        // By address: the node's name means nothing to the machine's resolver.
        '--kubelet-preferred-address-types=InternalIP',
        '--allow-privileged=true',
        '--profiling=false',
        '-v=1',
      ]);
      await ready('kube-apiserver /readyz', async () => (await curlStatus(`${server}/readyz`, tokens.admin)) === 200);
    });

    // The serving certificate holds the self-signed CA after the leaf: clients trust the file as a bundle.
    const caFile = join(pki, 'apiserver', 'apiserver.crt');
    const caData = (await readFile(caFile)).toString('base64');
    const kc = (name: string, token: string): Promise<string> => {
      const path = join(cfg, `${name}.kubeconfig`);
      return writeFile(path, kubeconfig(server, caData, { token }), { mode: 0o600 }).then(() => path);
    };
    const adminKc = await kc('admin', tokens.admin!);

    await step('kube-controller-manager, kube-scheduler', async () => {
      start('kube-controller-manager', join(bin, 'kube-controller-manager'), [
        `--kubeconfig=${await kc('controller-manager', tokens['controller-manager']!)}`,
        '--leader-elect=false',
        // Each controller acts as its own service account, with the bootstrap policy's rights.
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${join(pki, 'sa.key')}`,
        // Published as kube-root-ca.crt in every namespace: pods verify the API server with it.
        `--root-ca-file=${caFile}`,
        '--secure-port=0',
        '-v=1',
      ]);
      start('kube-scheduler', join(bin, 'kube-scheduler'), [
        `--kubeconfig=${await kc('scheduler', tokens.scheduler!)}`,
        '--leader-elect=false',
        '--secure-port=0',
        '-v=1',
      ]);
    });

    const containerdDir = join(dir, 'containerd');
    const socket = join(containerdDir, 'containerd.sock');
    const ctr = (args: string[]) => sh('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args]);
    await step('containerd', async () => {
      await mkdir(containerdDir, { recursive: true });
      await writeFile(join(cfg, 'containerd.toml'), containerdConfig(containerdDir, join(dir, 'cni'), opts.pauseImage));
      await writeFile(join(dir, 'cni', 'net.d', '10-hzz-pods.conflist'), cniConfig(join(dir, 'cni', 'ipam')));
      start('containerd', 'containerd', ['--config', join(cfg, 'containerd.toml')]);
      await ready('containerd', async () => {
        await ctr(['version']);
        return true;
      });
    });

    await step(`images (${opts.images.length})`, async () => {
      for (const image of opts.images) await ctr(['images', 'import', '--no-unpack=false', image.archive]);
      const listed = await ctr(['images', 'ls', '-q']);
      const missing = opts.images.filter((i) => !listed.split('\n').includes(i.ref));
      if (missing.length) throw new Error(`images missing after import: ${missing.map((m) => `${m.ref} (${m.archive})`).join(', ')}; containerd has:\n${listed}`);
    });

    await step('kubelet, node Ready', async () => {
      await writeFile(join(dir, 'resolv.conf'), '# no upstream: names outside the cluster resolve nowhere\n');
      await writeFile(join(cfg, 'kubelet.yaml'), kubeletConfig(dir, socket, pki));
      start('kubelet', join(bin, 'kubelet'), [
        `--config=${join(cfg, 'kubelet.yaml')}`,
        `--kubeconfig=${await kc('kubelet', tokens.node!)}`,
        `--root-dir=${join(dir, 'kubelet')}`,
        `--node-ip=${NODE_IP}`,
        `--hostname-override=${NODE_NAME}`,
        '-v=1',
      ]);
      await ready('node Ready', async () => {
        const r = await inNetns(netns, join(bin, 'kubectl'), [`--kubeconfig=${adminKc}`, 'get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return r.stdout.trim() === 'True';
      });
    });

    await step('kube-proxy', async () => {
      await writeFile(join(cfg, 'kube-proxy.yaml'), kubeProxyConfig(await kc('kube-proxy', tokens.proxy!)));
      start('kube-proxy', join(bin, 'kube-proxy'), [`--config=${join(cfg, 'kube-proxy.yaml')}`, `--hostname-override=${NODE_NAME}`, '-v=1']);
    });

    const home = join(dir, 'home');
    await mkdir(home);
    const exec: NodeCluster['exec'] = async (cmd, args, o = {}) => ({
      ...(await inNetns(netns, cmd, args, { ...o, env: { KUBECONFIG: adminKc, HOME: home, ...o.env } })),
      command: [cmd.split('/').pop(), ...args].join(' '),
    });
    const kubectl: NodeCluster['kubectl'] = (args, o) => exec(join(bin, 'kubectl'), args, o);
    const kubectlInBackground: NodeCluster['kubectlInBackground'] = (args) => {
      const [file, argv] = nsenter(netns, join(bin, 'kubectl'), args);
      return spawnTied(file, argv, { env: { ...process.env, KUBECONFIG: adminKc, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    };
    const helm: NodeCluster['helm'] = (args, o) => exec(join(bin, 'helm'), args, o);

    await step('CoreDNS', async () => {
      const applied = await kubectl(['apply', '-f', '-'], { input: coreDnsManifest(opts.coreDnsImage, DNS_IP) });
      if (applied.code !== 0) throw new Error(`CoreDNS manifest refused: ${applied.stderr}`);
      const waited = await kubectl(['-n', 'kube-system', 'rollout', 'status', 'deployment/coredns', '--timeout=150s'], { timeoutMs: 160_000 });
      if (waited.code !== 0) throw new Error(`CoreDNS did not become available: ${waited.stderr}\n${await describe(kubectl, 'kube-system')}`);
    });

    return { dir, netns, kubeconfig: adminKc, exec, kubectl, helm, kubectlInBackground, stop };
  } catch (err) {
    const logs = parts.map((p) => `--- ${p.name}:\n${tail(p.log, 15)}`).join('\n');
    const left = await stop().catch((e: Error) => [`teardown failed: ${e.message}`]);
    throw new Error(`${(err as Error).message}\n${logs}${left.length ? `\nleft behind: ${left.join('; ')}` : ''}`);
  }
}

/** Pods and recent events of a namespace: what a person would look at when something hangs. */
export async function describe(kubectl: NodeCluster['kubectl'], namespace: string): Promise<string> {
  const pods = await kubectl(['-n', namespace, 'get', 'pods', '-o', 'wide']);
  const events = await kubectl(['-n', namespace, 'get', 'events', '--sort-by=.lastTimestamp']);
  // The last words of every container that has restarted: why a pod crash-loops.
  const restarted = await kubectl(['-n', namespace, 'get', 'pods', '-o', 'jsonpath={range .items[?(@.status.containerStatuses[0].restartCount>0)]}{.metadata.name}{"\\n"}{end}']);
  const logs = await Promise.all(
    restarted.stdout.split('\n').filter(Boolean).map(async (pod) => `--- logs of ${pod} (previous):\n${(await kubectl(['-n', namespace, 'logs', pod, '--previous', '--all-containers', '--tail=20'])).stdout}`),
  );
  return `${pods.stdout}${pods.stderr}\n${events.stdout.split('\n').slice(-25).join('\n')}\n${logs.join('\n')}`;
}

function containerdConfig(root: string, cni: string, pauseImage: string): string {
  return `# containerd 1.6, config version 2, for the test node (test/harness/node-cluster.ts)
version = 2
root = "${root}/root"
state = "${root}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "${root}/containerd.sock"
[ttrpc]
  address = "${root}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${root}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImage}"
  # The VM lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below containerd's own and
  # fails with "can't get final child's PID from pipe: EOF" unless the value is clamped.
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # The machines mount cgroup v1 and run no systemd: the kubelet's cgroupfs driver matches.
        SystemdCgroup = false
        # runc's state beside containerd's, not in the machine's /run/containerd/runc.
        Root = "${root}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cni}/net.d"
`;
}

function cniConfig(ipamDir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'hzz-pods',
    plugins: [
      {
        type: 'bridge',
        bridge: 'hzz0',
        isGateway: true,
        ipMasq: true,
        // A pod reaching itself through its Service comes back over the bridge port it left by.
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
}

function kubeletConfig(dir: string, socket: string, pki: string): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // These machines mount cgroup v1, which kubelet 1.35+ refuses unless told otherwise.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    containerRuntimeEndpoint: `unix://${socket}`,
    address: NODE_IP,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    // kubectl logs/exec/cp arrive from the API server with its client certificate; anyone else is refused.
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: join(pki, 'kubelet-client-ca.crt') } },
    authorization: { mode: 'Webhook' },
    clusterDomain: 'cluster.local',
    clusterDNS: [DNS_IP],
    resolvConf: join(dir, 'resolv.conf'),
    failSwapOn: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    // The machine's disk is shared with everything else: evict only when it is really full.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    volumePluginDir: join(dir, 'kubelet-plugins'),
    shutdownGracePeriod: '0s',
  });
}

function kubeProxyConfig(kubeconfigPath: string): string {
  return JSON.stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: kubeconfigPath },
    mode: 'iptables',
    clusterCIDR: POD_CIDR,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    // conntrack's table size is the machine's, not the namespace's: leave it as it is.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}
