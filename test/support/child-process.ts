import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PlotterOptions } from '../../plotter/plotter.js';

/**
 * The plotter and the worker as real processes, for what only a process can show: a SIGKILL at a
 * chosen moment, and a real exit status. The plotter's JSON log lines on stderr are collected so a
 * test can wait for "stored partial" or "listening" instead of sleeping.
 */
const PLOTTER_MAIN = fileURLToPath(new URL('../../plotter/main.js', import.meta.url));
const FAULTY_PLOTTER = fileURLToPath(new URL('./faulty-plotter.js', import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL('../../worker/main.js', import.meta.url));

export interface LogLine {
  msg: string;
  [field: string]: unknown;
}

export interface ChildPlotter {
  proc: ChildProcess;
  lines: LogLine[];
  /** Raw stderr, for a failing test's message. */
  stderr(): string;
  waitForLine(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  port(): Promise<number>;
  get(path: string): Promise<{ status: number; type: string | null; body: Buffer }>;
  /** Sends the signal and resolves with the exit code (or the signal's name). */
  kill(signal: NodeJS.Signals): Promise<number | string>;
}

/** The plotter's real entry point; with `faults`, the same process with fault injection. */
export function spawnPlotter(opts: { out: string; amqpUrl: string; port?: number; faults?: PlotterOptions['faults']; onLine?: (l: LogLine) => void; env?: NodeJS.ProcessEnv }): ChildPlotter {
  const main = opts.faults ? [FAULTY_PLOTTER, '--faults', JSON.stringify(opts.faults)] : [PLOTTER_MAIN];
  const proc = spawn(process.execPath, [...main, '--out', opts.out, '--port', String(opts.port ?? 0), '--host', '127.0.0.1'], {
    env: { ...process.env, ...opts.env, HZZ_AMQP_URL: opts.amqpUrl },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let raw = '';
  let pending = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const p of parts) {
      let line: LogLine;
      try { line = JSON.parse(p) as LogLine; } catch { continue; /* not one of our lines */ }
      lines.push(line);
      opts.onLine?.(line);
    }
    waiters.forEach((w) => w());
  });
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  exited.then(() => waiters.forEach((w) => w()));

  const waitForLine = (pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> => new Promise((resolve, reject) => {
    const check = (): void => {
      const hit = lines.find(pred);
      if (hit) { done(); resolve(hit); } else if (proc.exitCode !== null || proc.signalCode !== null) { done(); reject(new Error(`plotter exited before the expected line; stderr:\n${raw}`)); }
    };
    const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for a plotter log line; stderr:\n${raw.slice(-4000)}`)); }, timeoutMs);
    const done = (): void => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
    check();
  });

  const port = async (): Promise<number> => (await waitForLine((l) => l.msg === 'listening')).port as number;
  return {
    proc,
    lines,
    stderr: () => raw,
    waitForLine,
    port,
    get: async (path) => {
      const res = await fetch(`http://127.0.0.1:${await port()}${path}`);
      return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
    },
    kill: (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface WorkerRun {
  code: number | null;
  stderr: string;
  ms: number;
}

export function runWorkerProcess(args: string[], env: Record<string, string | undefined>): Promise<WorkerRun> {
  const started = Date.now();
  // Only what the worker should see: no broker setting leaks in from the test's own environment.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HZZ_')));
  const proc = spawn(process.execPath, [WORKER_MAIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  return new Promise((resolve) => proc.on('exit', (code) => resolve({ code, stderr, ms: Date.now() - started })));
}
