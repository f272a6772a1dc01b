/**
 * At most one run per key per interval, with the last request never dropped: a request inside the
 * interval is deferred to its end, and further requests meanwhile fold into that one. `immediate`
 * skips the wait (the last chunk of an analysis is drawn at once).
 */
export class KeyedThrottle {
  private readonly lastRun = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly intervalMs: number, private readonly fire: (key: string) => void) {}

  request(key: string, opts: { immediate?: boolean } = {}): void {
    const wait = opts.immediate ? 0 : (this.lastRun.get(key) ?? -Infinity) + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.clear(key);
      this.lastRun.set(key, Date.now());
      this.fire(key);
      return;
    }
    if (this.timers.has(key)) return;
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.lastRun.set(key, Date.now());
      this.fire(key);
    }, wait));
  }

  stop(): void {
    for (const key of [...this.timers.keys()]) this.clear(key);
  }

  private clear(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }
}
