import { Worker } from 'node:worker_threads';
import { AnalysisError, type ErrorKind } from '../core/errors.js';
import type { SampleHistogram } from '../core/histogram.js';
import type { Task } from '../core/messages.js';

/**
 * A fixed pool of analysis threads for the local run. Each thread takes the next chunk when it is
 * free, so a slow chunk never holds up the others; chunks stay in plan order within the queue so a
 * thread tends to get consecutive chunks of one file and can reuse its opened file.
 */
export interface ThreadRequest { id: number; task: Task }
export type ThreadReply =
  | { id: number; histogram: SampleHistogram }
  | { id: number; error: { kind: ErrorKind | 'crash'; message: string } };

export class ThreadPool {
  private readonly threads: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { task: Task; resolve: (h: SampleHistogram) => void; reject: (e: Error) => void }[] = [];
  private readonly pending = new Map<number, { resolve: (h: SampleHistogram) => void; reject: (e: Error) => void; thread: Worker }>();
  private nextId = 0;
  private closed = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) this.spawn();
  }

  private spawn(): void {
    const t = new Worker(new URL('./chunk-thread.js', import.meta.url));
    t.on('message', (reply: ThreadReply) => this.settle(t, reply));
    t.on('error', (err) => this.failThread(t, err));
    this.threads.push(t);
    this.idle.push(t);
  }

  run(task: Task): Promise<SampleHistogram> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const thread = this.idle.pop()!;
      const job = this.queue.shift()!;
      const id = this.nextId++;
      this.pending.set(id, { resolve: job.resolve, reject: job.reject, thread });
      thread.postMessage({ id, task: job.task } satisfies ThreadRequest);
    }
  }

  private settle(thread: Worker, reply: ThreadReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    this.idle.push(thread);
    if ('histogram' in reply) p.resolve(reply.histogram);
    else p.reject(reply.error.kind === 'crash' ? new Error(reply.error.message) : new AnalysisError(reply.error.kind, '', reply.error.message));
    this.dispatch();
  }

  /** A thread that dies takes its chunk with it as a crash; a new thread takes its place. */
  private failThread(thread: Worker, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.thread === thread) {
        this.pending.delete(id);
        p.reject(err);
      }
    }
    this.threads.splice(this.threads.indexOf(thread), 1);
    if (!this.closed) {
      this.spawn();
      this.dispatch();
    }
  }
}
