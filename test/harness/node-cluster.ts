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
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolsBin, type KubectlResult } from './control-plane.js';
import { leftovers, readHostState, type HostState } from './host-state.js';
import { inNetns, nsenter, sh, type ExecOptions } from './netns-exec.js';
import { API_PORT, DNS_IP, NODE_IP, NODE_NAME, SERVICE_CIDR, cniConfig, containerdConfig, kubeconfig, kubeletConfig, kubeProxyConfig } from './node-config.js';
import { coreDnsManifest } from './node-manifests.js';
import { makeCredentials } from './node-pki.js';
import { NODE_DIR_PREFIX, dismantle, machineNames, sweepStale } from './node-teardown.js';
import { launch, spawnTied, tail, terminate, waitFor } from './processes.js';

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
  const dir = await mkdtemp(join(tmpdir(), NODE_DIR_PREFIX));
  // Pods' users (RabbitMQ's 999, the app's 10001) traverse it to reach their hostPath volumes.
  await chmod(dir, 0o755);
  const netns = `hzz-node-${process.pid}`;
  await writeFile(join(dir, 'owner'), `${process.pid} ${netns}\n`);
  const hostBefore: HostState = readHostState([dir]);
  const parts: Part[] = [];
  // The parts die with this process however it ends (processes.ts); what they leave on the machine
  // (pods, mounts, the namespace) is taken apart by the next start when stop() never ran.
  let stopped = false;

  const stop = async (): Promise<string[]> => {
    if (stopped) return [];
    stopped = true;
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
      const inside = ([cmd, ...args]: string[]) => sh(...nsenter(netns, cmd!, args));
      await inside(['ip', 'link', 'set', 'lo', 'up']);
      await inside(['ip', 'addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
      // Pods reach services and each other through the node: routing and bridge netfilter on, as
      // kubeadm's preflight asks. Both settings belong to this namespace only.
      await inside(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1']);
    });

    const tokens = await makeCredentials(pki);

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
    const adminKc = await kc('admin', tokens.admin);
    const home = join(dir, 'home');
    await mkdir(home);
    const asAdmin = { KUBECONFIG: adminKc, HOME: home };
    const exec: NodeCluster['exec'] = async (cmd, args, o = {}) => ({
      ...(await inNetns(netns, cmd, args, { ...o, env: { ...asAdmin, ...o.env } })),
      command: [cmd.split('/').pop(), ...args].join(' '),
    });
    const kubectl: NodeCluster['kubectl'] = (args, o) => exec(join(bin, 'kubectl'), args, o);
    const kubectlInBackground: NodeCluster['kubectlInBackground'] = (args) => {
      const [file, argv] = nsenter(netns, join(bin, 'kubectl'), args);
      return spawnTied(file, argv, { env: { ...process.env, ...asAdmin }, stdio: ['ignore', 'pipe', 'pipe'] });
    };
    const helm: NodeCluster['helm'] = (args, o) => exec(join(bin, 'helm'), args, o);


    await step('kube-controller-manager, kube-scheduler', async () => {
      start('kube-controller-manager', join(bin, 'kube-controller-manager'), [
        `--kubeconfig=${await kc('controller-manager', tokens['controller-manager'])}`,
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
        `--kubeconfig=${await kc('scheduler', tokens.scheduler)}`,
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
      for (const image of opts.images) await ctr(['images', 'import', image.archive]);
      const listed = await ctr(['images', 'ls', '-q']);
      const missing = opts.images.filter((i) => !listed.split('\n').includes(i.ref));
      if (missing.length) throw new Error(`images missing after import: ${missing.map((m) => `${m.ref} (${m.archive})`).join(', ')}; containerd has:\n${listed}`);
    });

    await step('kubelet, node Ready', async () => {
      await writeFile(join(dir, 'resolv.conf'), '# no upstream: names outside the cluster resolve nowhere\n');
      await writeFile(join(cfg, 'kubelet.yaml'), kubeletConfig(dir, socket, pki));
      start('kubelet', join(bin, 'kubelet'), [
        `--config=${join(cfg, 'kubelet.yaml')}`,
        `--kubeconfig=${await kc('kubelet', tokens.node)}`,
        `--root-dir=${join(dir, 'kubelet')}`,
        `--node-ip=${NODE_IP}`,
        `--hostname-override=${NODE_NAME}`,
        '-v=1',
      ]);
      await ready('node Ready', async () => {
        const r = await kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return r.stdout.trim() === 'True';
      });
    });

    await step('kube-proxy', async () => {
      await writeFile(join(cfg, 'kube-proxy.yaml'), kubeProxyConfig(await kc('kube-proxy', tokens.proxy)));
      start('kube-proxy', join(bin, 'kube-proxy'), [`--config=${join(cfg, 'kube-proxy.yaml')}`, `--hostname-override=${NODE_NAME}`, '-v=1']);
    });

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
