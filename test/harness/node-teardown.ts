// Taking a test node apart: whatever a node in a folder with a network namespace left running or
// mounted, found on the machine itself (/proc, /proc/self/mountinfo, /run/netns, the cgroup tree),
// so that it works for the node of a test process that died as well as for one that stops.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { processTable, type ProcessInfo } from './host-state.js';
import { alive } from './processes.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const NODE_DIR_PREFIX = 'hzz-node-';

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
export async function dismantle(dir: string, netns: string, before: Leftovers): Promise<void> {
  const killAll = (pred: (p: ProcessInfo) => boolean): void => {
    for (const p of processTable().filter(pred)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  // The containers first, by their cgroup, so that nothing runs inside the mounts about to go; then
  // whatever names the node's folder: containerd, its shims, the node's other parts.
  killAll((p) => p.cgroup.includes('/kubepods'));
  killAll((p) => p.cmdline.includes(dir));
  await sleep(300);
  for (let i = 0; i < 3; i++) {
    for (const m of mountsUnder(dir)) await run('umount', ['-l', m]).catch(() => {});
    if (mountsUnder(dir).length === 0) break;
    await sleep(200);
  }
  for (const ns of existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR) : []) {
    if (ns.startsWith('cni-') && !before.podNetns.has(ns)) {
      await run('umount', [join(NETNS_DIR, ns)]).catch(() => {});
      rmSync(join(NETNS_DIR, ns), { force: true });
    }
  }
  await run('ip', ['netns', 'del', netns]).catch(() => {});
  // iproute2 bind-mounts /run/netns onto itself the first time a namespace is added after boot and
  // never takes it down: on a machine that had no such mount, the node made it.
  if (!before.netnsMount && mountsUnder(NETNS_DIR).includes(NETNS_DIR) && readdirSync(NETNS_DIR).length === 0) {
    await run('umount', [NETNS_DIR]).catch(() => {});
  }
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
const NETNS_DIR = '/run/netns';

/** Machine-wide names a node creates but does not own alone: only the new ones are removed. */
export interface Leftovers {
  podNetns: Set<string>;
  shimSockets: Set<string>;
  containerdRun: boolean;
  netnsMount: boolean;
}

export function machineNames(): Leftovers {
  const list = (d: string) => new Set(existsSync(d) ? readdirSync(d) : []);
  return {
    podNetns: list(NETNS_DIR),
    shimSockets: list(SHIM_SOCKETS),
    containerdRun: existsSync('/run/containerd'),
    netnsMount: mountsUnder(NETNS_DIR).includes(NETNS_DIR),
  };
}

/**
 * Nodes of test processes that died before stopping theirs (their folder names a dead owner) are
 * taken apart; a node whose owner lives is refused company.
 */
export async function sweepStale(): Promise<void> {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(NODE_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner: string;
    try {
      owner = (await readFile(join(dir, 'owner'), 'utf8')).trim();
    } catch {
      continue; // not ours, or being removed
    }
    const [pid, netns] = owner.split(' ');
    // The kubelet's kubepods cgroups and containerd's shim sockets are machine-wide: a second node
    // would share them with the first, and either's teardown would kill the other's pods.
    if (alive(Number(pid))) throw new Error(`another test node is running (process ${pid}, ${dir}): one node per machine`);
    await dismantle(dir, netns!, { podNetns: new Set(), shimSockets: new Set(), containerdRun: true, netnsMount: true });
  }
}
