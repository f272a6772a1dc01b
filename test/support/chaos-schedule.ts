// The chaos test's schedule of SIGKILLs, as a pure function of a seed and the number of chunks, so
// that HZZ_CHAOS_SEED=<seed> replays exactly the kills of a failing run. A kill is tied to an
// observable moment of the run (a worker's log line, the plotter's n-th stored partial, the n-th
// chunk Job), never to a clock, so the same seed kills at the same point of the work; only the
// jitter in between differs from run to run.

/** Which part dies, and at what moment of its work. */
export type KillKind = 'worker-analysing' | 'worker-publishing' | 'worker-published' | 'plotter' | 'operator' | 'broker';

export const KILL_KINDS: readonly KillKind[] = ['worker-analysing', 'worker-publishing', 'worker-published', 'plotter', 'operator', 'broker'];

export type Trigger =
  /**
   * A chunk's worker process while it analyses: this fraction of the time from its start to its
   * broker connection in the fault-free run (the worker connects only once the chunk is analysed).
   */
  | { on: 'worker-started'; chunk: number; attempt: number; fraction: number }
  /** A chunk's worker process at one of its log lines: connected to the broker (about to publish), or published (confirmed, not yet exited). */
  | { on: 'worker-line'; chunk: number; attempt: number; msg: 'connected to broker' | 'published' }
  /** When the plotter has stored this many partials of the run (redeliveries and duplicates count). */
  | { on: 'stored-partials'; count: number }
  /** When this many chunk Jobs of the run exist. */
  | { on: 'jobs-created'; count: number }
  /** At the plotter's 'stored plan' line, or the operator's 'plan published' line. */
  | { on: 'plan-stored' }
  | { on: 'plan-published' };

export interface Kill {
  kind: KillKind;
  trigger: Trigger;
  /** How long a killed plotter, operator or broker stays down before the test starts it again (as its Deployment would). */
  restartAfterMs: number;
}

/** mulberry32: a 32-bit state is all a schedule needs, and it is the same on every machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Three to five kills of distinct kinds; worker kills hit distinct chunks' first attempts, so each
 * killed chunk must need exactly one more Job.
 */
export function chaosSchedule(seed: number, chunks: number): Kill[] {
  const r = random(seed);
  const int = (n: number) => Math.floor(r() * n);
  const kinds = [...KILL_KINDS];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  const freeChunks = Array.from({ length: chunks }, (_, i) => i);
  const chunk = () => freeChunks.splice(int(freeChunks.length), 1)[0]!;
  const progress = (): Trigger => (r() < 0.5 ? { on: 'stored-partials', count: 1 + int(chunks) } : { on: 'jobs-created', count: 1 + int(chunks) });
  return kinds.slice(0, 3 + int(3)).map((kind): Kill => {
    switch (kind) {
      case 'worker-analysing': return { kind, trigger: { on: 'worker-started', chunk: chunk(), attempt: 0, fraction: 0.6 + 0.35 * r() }, restartAfterMs: 0 };
      case 'worker-publishing': return { kind, trigger: { on: 'worker-line', chunk: chunk(), attempt: 0, msg: 'connected to broker' }, restartAfterMs: 0 };
      case 'worker-published': return { kind, trigger: { on: 'worker-line', chunk: chunk(), attempt: 0, msg: 'published' }, restartAfterMs: 0 };
      case 'plotter': return { kind, trigger: r() < 0.2 ? { on: 'plan-stored' } : { on: 'stored-partials', count: 1 + int(chunks) }, restartAfterMs: int(1500) };
      case 'operator': return { kind, trigger: r() < 0.2 ? { on: 'plan-published' } : { on: 'jobs-created', count: 1 + int(chunks) }, restartAfterMs: int(1500) };
      case 'broker': return { kind, trigger: progress(), restartAfterMs: int(1000) };
    }
  });
}

export function describeKill(k: Kill): string {
  const t = k.trigger;
  const when = t.on === 'worker-started' ? `chunk ${t.chunk} attempt ${t.attempt}, while analysing (at ${t.fraction.toFixed(2)} of its fault-free time to connect)`
    : t.on === 'worker-line' ? `chunk ${t.chunk} attempt ${t.attempt}, at its '${t.msg}' line`
      : t.on === 'stored-partials' ? `when the plotter has stored ${t.count} partial${t.count === 1 ? '' : 's'}`
        : t.on === 'jobs-created' ? `when ${t.count} chunk Job${t.count === 1 ? '' : 's'} exist`
          : t.on === 'plan-stored' ? "at the plotter's 'stored plan'" : "at the operator's 'plan published'";
  const restart = k.kind.startsWith('worker') ? 'retried by the Job controller and the operator' : `restarted after ${k.restartAfterMs} ms`;
  return `${k.kind}: ${when}; ${restart}`;
}
