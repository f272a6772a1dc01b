import { backoffDelay, type Backoff } from '../core/util/backoff.js';

/**
 * Keys to reconcile, with client-go's workqueue guarantees: a key is queued at most once however
 * many events name it; a key is handled by one worker at a time, and one added while it is being
 * handled is handled again afterwards (nothing that happened during a reconcile is missed); a
 * failing key is retried with a per-key exponential backoff that resets once it succeeds.
 */
export type Handler = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

export interface WorkQueueOptions {
  retry?: Backoff;
  /** Called when a handler throws, before the retry is scheduled. */
  onError?: (key: string, err: unknown, retryInMs: number) => void;
}

const DEFAULT_RETRY: Backoff = { initialMs: 500, maxMs: 60_000, budgetMs: Infinity };

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly idleWorkers: (() => void)[] = [];
  private shuttingDown = false;
  private readonly retry: Backoff;

  constructor(private readonly opts: WorkQueueOptions = {}) {
    this.retry = opts.retry ?? DEFAULT_RETRY;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.idleWorkers.shift()?.();
  }

  /** Adds the key after a delay; of several pending delays for one key the earliest wins. */
  addAfter(key: string, ms: number): void {
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Starts `workers` loops that handle keys until shutDown(); resolves when they have all stopped. */
  run(workers: number, handle: Handler): Promise<void> {
    return Promise.all(Array.from({ length: workers }, () => this.worker(handle))).then(() => {});
  }

  /** No new keys; workers finish the key at hand and stop. */
  shutDown(): void {
    this.shuttingDown = true;
    this.timers.forEach((t) => clearTimeout(t.timer));
    this.timers.clear();
    this.idleWorkers.splice(0).forEach((wake) => wake());
  }

  private async worker(handle: Handler): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      try {
        const result = await handle(key);
        this.failures.delete(key);
        if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        const n = this.failures.get(key) ?? 0;
        this.failures.set(key, n + 1);
        const delay = backoffDelay(n, this.retry);
        this.opts.onError?.(key, err, delay);
        this.addAfter(key, delay);
      } finally {
        this.processing.delete(key);
        if (this.dirty.delete(key)) this.add(key);
      }
    }
  }

  private async next(): Promise<string | undefined> {
    while (this.queue.length === 0) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((resolve) => this.idleWorkers.push(resolve));
    }
    if (this.shuttingDown) return undefined;
    const key = this.queue.shift()!;
    this.queued.delete(key);
    this.processing.add(key);
    return key;
  }
}
