import { fork, type ChildProcess } from 'node:child_process';
import type { InProcessContainer } from '../test/harness/job-runner.js';
import type { PodReply, PodRequest } from './scale-worker.js';

/**
 * The scale benchmark's stand-in for a node's worth of pod processes: a few reusable processes
 * (bench/scale-worker.ts), each running one pod's worker at a time, so that thousands of pods do
 * not each pay Node's start on two cores. Pods wait their turn while Running, as pods on a busy
 * node do. `container` is what the job runner calls for each pod.
 */
export class WorkerPool {
  private readonly processes: ChildProcess[] = [];
  private readonly idle: ChildProcess[] = [];
  private readonly waiting: { req: PodRequest; done: (r: PodReply) => void }[] = [];
  private readonly pending = new Map<number, (r: PodReply) => void>();
  private nextId = 0;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const child = fork(new URL('./scale-worker.js', import.meta.url), { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      child.on('message', (reply: PodReply) => {
        this.pending.get(reply.id)?.(reply);
        this.pending.delete(reply.id);
        this.idle.push(child);
        this.dispatch();
      });
      this.processes.push(child);
      this.idle.push(child);
    }
  }

  readonly container: InProcessContainer = (env) => new Promise((resolve) => {
    this.waiting.push({ req: { id: this.nextId++, env }, done: ({ code, message }) => resolve({ code, message }) });
    this.dispatch();
  });

  close(): void {
    for (const child of this.processes) child.kill('SIGTERM');
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const child = this.idle.pop()!;
      const { req, done } = this.waiting.shift()!;
      this.pending.set(req.id, done);
      child.send(req);
    }
  }
}
