// Running a command inside a network namespace without leaving the machine's mount namespace:
// `nsenter --net`, not `ip netns exec`, which would also give the command a mount namespace of its
// own where the kubelet's volume mounts are invisible to containerd and runc.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { KubectlResult } from './control-plane.js';

const run = promisify(execFile);

export function nsenter(netns: string, cmd: string, args: string[]): [string, string[]] {
  return ['nsenter', [`--net=/run/netns/${netns}`, '--', cmd, ...args]];
}

export interface ExecOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
}

export async function inNetns(netns: string, cmd: string, args: string[], opts: ExecOptions = {}): Promise<KubectlResult> {
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

/** A command on the machine itself, its stdout; a failure throws with its stderr. */
export async function sh(cmd: string, args: string[]): Promise<string> {
  return (await run(cmd, args, { maxBuffer: 16 << 20 })).stdout;
}
