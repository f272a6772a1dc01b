// What a test node could leave behind on the machine, read before it starts and after it stops, so
// that teardown can be asserted instead of hoped for: processes, mounts, iptables rules, links,
// addresses and network namespaces of the host. Everything is read from /proc and from the same
// tools the node uses (ip, iptables-save), in the host's own network namespace.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface HostState {
  /** pid → "exe cmdline" of every process that looks like part of a node (see isNodeProcess). */
  processes: Map<number, string>;
  mounts: string[];
  iptables: string[];
  links: string[];
  addresses: string[];
  netns: string[];
  /** Files a runtime leaves in the machine's /run (containerd's shim sockets). */
  runFiles: string[];
}

// Only a node runs these; the control plane's processes (which other tests start too) are known by
// the node's folder in their command lines.
const NODE_EXECUTABLES = /\/(containerd|containerd-shim[\w-]*|runc|kubelet|kube-proxy|coredns|pause)( \(deleted\))?$/;

function readOr(path: string, fallback = ''): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

export interface ProcessInfo {
  pid: number;
  /** The executable's path, '' for a kernel thread. */
  exe: string;
  /** The arguments, joined by spaces. */
  cmdline: string;
  /** /proc/PID/cgroup as the kernel writes it. */
  cgroup: string;
}

/** Every process of the machine but this one, as /proc shows it now (those that vanish meanwhile are left out). */
export function processTable(): ProcessInfo[] {
  const table: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let exe = '';
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      /* a kernel thread, or gone */
    }
    const cmdline = readOr(`/proc/${pid}/cmdline`).split('\0').join(' ').trim();
    table.push({ pid, exe, cmdline, cgroup: readOr(`/proc/${pid}/cgroup`) });
  }
  return table;
}

/**
 * A process of a node: one of the node's executables, anything whose command line names the node's
 * folder (its control plane, the shims), or anything in a pod's cgroup. Other work on the machine
 * (a RabbitMQ of the test suite, another test's API server, a build beside it) is none of its business.
 */
function isNodeProcess(p: ProcessInfo, markers: string[]): boolean {
  return p.exe !== '' && (NODE_EXECUTABLES.test(p.exe) || p.cgroup.includes('kubepods') || markers.some((m) => p.cmdline.includes(m)));
}

function lines(cmd: string, args: string[]): string[] {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Each chain and rule as "table chain" / "table -A …". Counters change all the time, and an empty
 * table appears in the listing once anything has looked at it; chains and rules are what must not.
 */
function iptablesRules(): string[] {
  let table = '';
  const rules: string[] = [];
  for (const l of lines('iptables-save', [])) {
    if (l.startsWith('*')) table = l.slice(1);
    else if (l.startsWith(':')) rules.push(`${table} chain ${l.slice(1).split(' ')[0]}`);
    else if (l.startsWith('-')) rules.push(`${table} ${l}`);
  }
  return rules;
}

/** markers: strings whose presence in a command line makes a process the node's (its folder). */
export function readHostState(markers: string[] = []): HostState {
  const processes = new Map(processTable().filter((p) => isNodeProcess(p, markers)).map((p) => [p.pid, `${p.exe} ${p.cmdline}`]));
  // Mount IDs change with every mount; the mount point and source say what it is.
  const mounts = readOr('/proc/self/mountinfo')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').slice(3, 5).join(' '));
  return {
    processes,
    mounts,
    iptables: iptablesRules(),
    links: lines('ip', ['-o', 'link', 'show']).map((l) => l.replace(/^\d+: /, '').replace(/ state \S+.*$/, '')),
    addresses: lines('ip', ['-o', 'addr', 'show']).map((l) => l.replace(/^\d+: /, '').replace(/\s+valid_lft.*$/, '')),
    netns: lines('ip', ['netns', 'list']).map((l) => l.split(' ')[0]!),
    runFiles: ['/run/containerd/s', '/run/containerd/runc'].flatMap((d) => {
      try {
        return readdirSync(d).map((f) => `${d}/${f}`);
      } catch {
        return [];
      }
    }),
  };
}

/** What `after` has that `before` lacked, per kind; empty when the node left nothing behind. */
export function leftovers(before: HostState, after: HostState): string[] {
  const added = (kind: string, b: string[], a: string[]): string[] => {
    const had = new Set(b);
    return a.filter((x) => !had.has(x)).map((x) => `${kind}: ${x}`);
  };
  return [
    ...[...after.processes].filter(([pid]) => !before.processes.has(pid)).map(([pid, what]) => `process ${pid}: ${what}`),
    ...added('mount', before.mounts, after.mounts),
    ...added('iptables', before.iptables, after.iptables),
    ...added('link', before.links, after.links),
    ...added('address', before.addresses, after.addresses),
    ...added('netns', before.netns, after.netns),
    ...added('file', before.runFiles, after.runFiles),
  ];
}
