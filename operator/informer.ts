import { backoffDelay, type Backoff } from '../core/util/backoff.js';
import { silentLog, type Log } from '../core/util/log.js';
import type { KubeClient, WatchEvent } from './kube-client.js';
import { namespacedName, type KubeObject, type KubeList } from './kube-types.js';

/**
 * List, then watch from the list's resourceVersion, keeping a local copy of the objects; when the
 * watch ends it is resumed from the last version seen, and when that version is too old (410 Gone)
 * or anything fails, everything is listed again after a backoff. A relist is compared with the copy,
 * so a deletion that happened while no watch was open is still reported. Every `resyncMs` each
 * object is reported again, so a reconcile that was lost (or needs a time-based decision) happens
 * anyway — level-triggered, as client-go's shared informers.
 */
export type InformerEventType = 'added' | 'modified' | 'deleted' | 'resync';

export interface InformerOptions<T extends KubeObject = KubeObject> {
  /** Collection path, e.g. /apis/batch/v1/jobs or /apis/batch/v1/namespaces/ns/jobs. */
  path: string;
  labelSelector?: string;
  log?: Log;
  /** How often every object is reported again ('resync'); 0: never. */
  resyncMs: number;
  /** Server-side watch timeout; watches are renewed after it, with a little jitter. */
  watchSeconds?: number;
  /**
   * What of each object to keep (client-go's SetTransform): a cache of thousands of Jobs holds
   * their labels and conditions, not their pod templates and managed fields.
   */
  transform?: (obj: T) => T;
}

const RELIST_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000, budgetMs: Infinity };
const PAGE = 500;
/** Deleted objects remembered, so that a write's answer arriving after the deletion does not revive one. */
const TOMBSTONES = 10_000;

const storeKey = (o: KubeObject): string => namespacedName(o.metadata.namespace, o.metadata.name);

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly deletedUids = new Set<string>();
  private stopped = false;
  private stopWatch: (() => void) | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private readonly log: Log;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: InformerOptions<T>,
    private readonly onEvent: (type: InformerEventType, obj: T) => void,
  ) {
    this.log = opts.log ?? silentLog;
  }

  start(): void {
    void this.run();
    if (this.opts.resyncMs > 0) {
      this.resyncTimer = setInterval(() => this.store.forEach((o) => this.onEvent('resync', o)), this.opts.resyncMs);
      this.resyncTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    this.stopWatch?.();
    this.wake?.();
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** The objects as last seen (transformed). */
  items(): T[] {
    return [...this.store.values()];
  }

  /**
   * An object the caller has just written, from the API's answer: a reader of the cache sees it at
   * once, before its watch event comes (client-go's mutation cache), so a reconcile right after a
   * create does not count it missing and create more, and one right after a status patch does not
   * act on the status before it. Whichever copy is newer wins (resourceVersions compared as
   * integers, as client-go's mutation cache does: etcd's revisions); a deleted object is never revived.
   */
  assume(obj: T): void {
    const key = storeKey(obj);
    if (obj.metadata.uid !== undefined && this.deletedUids.has(obj.metadata.uid)) return;
    const cached = this.store.get(key);
    if (cached && !(Number(obj.metadata.resourceVersion) > Number(cached.metadata.resourceVersion))) return;
    this.store.set(key, this.keep(obj));
  }

  /** The object of that namespace and name as last seen. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(namespacedName(namespace, name));
  }

  private keep(obj: T): T {
    return this.opts.transform ? this.opts.transform(obj) : obj;
  }

  private forget(key: string, obj: T): void {
    this.store.delete(key);
    if (obj.metadata.uid === undefined) return;
    this.deletedUids.add(obj.metadata.uid);
    if (this.deletedUids.size > TOMBSTONES) this.deletedUids.delete(this.deletedUids.values().next().value!);
  }

  private async run(): Promise<void> {
    for (let failures = 0; !this.stopped;) {
      try {
        let version = await this.relist();
        failures = 0;
        for (;;) {
          const next = await this.watchFrom(version);
          if (next === undefined || this.stopped) break;
          version = next;
        }
      } catch (err) {
        if (this.stopped) return;
        const delay = backoffDelay(failures++, RELIST_BACKOFF);
        this.log('list/watch failed, listing again', { path: this.opts.path, error: (err as Error).message, delayMs: Math.round(delay) });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => { clearTimeout(timer); resolve(); };
        });
      }
    }
  }

  private async relist(): Promise<string> {
    const seen = new Map<string, T>();
    let version = '';
    let next: string | undefined;
    do {
      const page = await this.client.get<KubeList<T>>(this.opts.path, { labelSelector: this.opts.labelSelector, limit: PAGE, continue: next });
      for (const item of page.items) seen.set(storeKey(item), this.keep(item));
      version = page.metadata.resourceVersion;
      next = page.metadata.continue || undefined;
    } while (next);
    for (const [key, old] of this.store) {
      if (!seen.has(key)) {
        this.forget(key, old);
        this.onEvent('deleted', old);
      }
    }
    for (const [key, obj] of seen) {
      const old = this.store.get(key);
      this.store.set(key, obj);
      if (!old) this.onEvent('added', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.onEvent('modified', obj);
    }
    if (!this.synced) {
      this.synced = true;
      this.syncWaiters.splice(0).forEach((w) => w());
    }
    return version;
  }

  /** Resolves with the version to resume from, or undefined when a relist is needed (410 Gone). */
  private watchFrom(version: string): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      let latest = version;
      let gone = false;
      let events = 0;
      const opened = Date.now();
      const seconds = this.opts.watchSeconds ?? 300;
      const onEvent = (e: WatchEvent): void => {
        events++;
        if (e.type === 'ERROR') {
          const status = e.object as { code?: number; message?: string };
          if (status.code === 410) gone = true;
          else this.log('watch error event', { path: this.opts.path, error: status.message });
          return;
        }
        const raw = e.object as T;
        latest = raw.metadata.resourceVersion ?? latest;
        if (e.type === 'BOOKMARK') return;
        const obj = this.keep(raw);
        const key = storeKey(obj);
        if (e.type === 'DELETED') {
          this.forget(key, obj);
          this.onEvent('deleted', obj);
        } else {
          const existed = this.store.has(key);
          this.store.set(key, obj);
          this.onEvent(existed ? 'modified' : 'added', obj);
        }
      };
      const done = (err?: unknown): void => {
        this.stopWatch = undefined;
        if (this.stopped || gone) resolve(undefined);
        else if (err) reject(err instanceof Error ? err : new Error(String(err)));
        // A watch the server closes at once, again and again, would otherwise spin without a pause.
        else if (events === 0 && Date.now() - opened < 250) reject(new Error('the watch closed at once'));
        else resolve(latest);
      };
      this.client
        .watch(this.opts.path, {
          labelSelector: this.opts.labelSelector, resourceVersion: version, allowWatchBookmarks: true,
          timeoutSeconds: Math.round(seconds * (1 + Math.random() / 4)),
        }, onEvent, done)
        .then((stop) => {
          this.stopWatch = stop;
          if (this.stopped) stop();
        }, reject);
    });
  }
}
