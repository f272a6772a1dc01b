import { fork, type ChildProcess } from 'node:child_process';
import { failureError, type FailureKind } from '../core/contracts/errors.js';
import type { Task } from '../core/contracts/messages.js';
import type { SampleHistogram } from '../core/histogram.js';

/**
 * A fixed pool of analysis processes for the local run. Each process takes the next chunk when it
 * has room, so a slow chunk holds up at most the one queued behind it; chunks stay in plan order
 * within the queue so a process tends to get consecutive chunks of one file and can reuse its
 * opened file.
 * Processes rather than worker threads: two threads of one process inflating baskets slowed each
 * other by a quarter (their garbage collectors share one helper pool), two processes by 7%, which
 * is also how the cluster runs them.
 * Each process holds its next chunk while it analyses one (IN_FLIGHT), so that it never waits for
 * the round trip of a result and a new task between chunks; it takes them one at a time.
 */
const IN_FLIGHT = 2;

export interface PoolRequest { id: number; task: Task }
export type PoolReply =
  | { id: number; histogram: SampleHistogram }
  | { id: number; error: { kind: FailureKind; message: string } };

export class ProcessPool {
  private readonly processes: ChildProcess[] = [];
  /** A process once for each chunk more it may be given. */
  private readonly idle: ChildProcess[] = [];
  private readonly queue: { task: Task; resolve: (h: SampleHistogram) => void; reject: (e: Error) => void }[] = [];
  private readonly pending = new Map<number, { resolve: (h: SampleHistogram) => void; reject: (e: Error) => void; child: ChildProcess }>();
  private nextId = 0;
  private closed = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.spawn();
  }

  private spawn(): void {
    const t = fork(new URL('./chunk-process.js', import.meta.url), { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    t.on('message', (reply: PoolReply) => this.settle(t, reply));
    // A message to a process that just died fails here; its 'exit' handler settles the rest.
    t.on('error', () => {});
    t.on('exit', (code, signal) => this.failProcess(t, new Error(`analysis process exited (${signal ?? `code ${code}`})`)));
    this.processes.push(t);
    for (let i = 0; i < IN_FLIGHT; i++) this.idle.push(t);
  }

  run(task: Task): Promise<SampleHistogram> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.processes.map((t) => new Promise<void>((resolve) => {
      if (t.exitCode !== null || t.signalCode !== null) return resolve();
      t.once('exit', () => resolve());
      t.kill('SIGTERM');
    })));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const child = this.idle.pop()!;
      const job = this.queue.shift()!;
      const id = this.nextId++;
      this.pending.set(id, { resolve: job.resolve, reject: job.reject, child });
      child.send({ id, task: job.task } satisfies PoolRequest);
    }
  }

  private settle(child: ChildProcess, reply: PoolReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    this.idle.push(child);
    if ('histogram' in reply) p.resolve(reply.histogram);
    else p.reject(failureError(reply.error.kind, reply.error.message));
    this.dispatch();
  }

  /** A process that dies takes its chunk with it as a crash; a new process takes its place. */
  private failProcess(child: ChildProcess, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.child === child) {
        this.pending.delete(id);
        p.reject(err);
      }
    }
    this.processes.splice(this.processes.indexOf(child), 1);
    for (let i = this.idle.length - 1; i >= 0; i--) if (this.idle[i] === child) this.idle.splice(i, 1);
    if (!this.closed) {
      this.spawn();
      this.dispatch();
    }
  }
}
