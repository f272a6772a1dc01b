// The processes a test harness starts and must not leave behind: spawned tied to this process (they
// die with it, even by SIGKILL), killed on every way out, waited for with their logs at hand.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';

const STOP_GRACE_MS = 5_000;

// Children left behind would hold ports and temp dirs after the test process is gone, so every
// live child is killed when this process ends, however it ends. Each temp dir holds about 130 MB
// (etcd preallocates its 64 MB write-ahead log twice), so they are removed on the way out too.
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHooksInstalled = false;

/** A folder removed when this process ends, however it ends (until forgotten, once removed). */
export function removeOnExit(dir: string): () => void {
  installExitHooks();
  liveDirs.add(dir);
  return () => liveDirs.delete(dir);
}

function killEverything(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  for (const dir of liveDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // A dying etcd may still be writing; the sweep of the next run removes what is left.
    }
  }
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killEverything);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killEverything();
      // Re-raise so that the default action (or another listener) still ends the process.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

// setpriv makes the kernel kill the child when this process dies, even by SIGKILL, which no
// handler above can catch. It is part of util-linux; without it the hooks above still apply.
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** A child that dies with this process even when it is SIGKILLed. */
export function spawnTied(cmd: string, args: string[], opts: Parameters<typeof spawn>[2]): ChildProcess {
  const [file, argv] = setpriv ? [setpriv, ['--pdeathsig', 'SIGKILL', '--', cmd, ...args]] : [cmd, args];
  return spawn(file, argv, opts);
}

/** A long-running part whose output goes to logFile; killed when this process ends. */
export function launch(cmd: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): ChildProcess {
  installExitHooks();
  const fd = openSync(logFile, 'a');
  try {
    // The children write straight into the log file: no pipe to drain, nothing lost on a crash.
    const child = spawnTied(cmd, args, { stdio: ['ignore', fd, fd], ...(env ? { env } : {}) });
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    return child;
  } finally {
    closeSync(fd);
  }
}

/** Whether a process exists (EPERM: it does, but is someone else's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The last lines of a log, for an error message. */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until check() is true; fails early when one of the watched children has exited. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  watched: { child: ChildProcess; name: string; log: string }[],
  deadline: number,
): Promise<void> {
  let lastError = '';
  for (;;) {
    for (const w of watched) {
      if (w.child.exitCode !== null || w.child.signalCode !== null) {
        throw new Error(
          `${w.name} exited (${w.child.exitCode ?? w.child.signalCode}) while waiting for ${what}; ` +
            `last lines of ${w.log}:\n${tail(w.log)}`,
        );
      }
    }
    try {
      if (await check()) return;
      lastError = '';
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      const logs = watched.map((w) => `--- ${w.name} (${w.log}):\n${tail(w.log)}`).join('\n');
      throw new Error(`timed out waiting for ${what}${lastError ? ` (${lastError})` : ''}\n${logs}`);
    }
    await sleep(100);
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the child has exited. */
export async function terminate(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await done;
  clearTimeout(timer);
}
