import { readFileSync, rmSync } from 'node:fs';
import type { Log } from '../core/util/log.js';
import { publishDeadLetter } from '../transport/dead-letter.js';
import { partialProperties } from '../transport/envelope.js';
import type { ConfirmPublisher } from '../transport/publisher.js';
import type { Topology } from '../transport/topology.js';
import type { AnalysisState } from './analysis-state.js';

/**
 * Orphans: partials of an analysis whose plan has not come (yet). They are kept, since a plan may
 * follow its first partials, but only so much and so long: on disk within a byte budget, for at
 * most a time to live, and never in memory (a plotter restarted on a folder full of them used to
 * read them all, and six of 30 MB put it over its 512Mi limit). Past either limit an orphan is
 * dead-lettered with the reason, the oldest first, never dropped; its file goes only once the
 * broker confirmed the dead letter. When its plan comes, an orphan that fits it is counted, and one
 * that does not is dead-lettered (analyses.ts).
 */
export interface OrphanLimits {
  /** The most the partials without a plan may take on disk, together. */
  budgetBytes: number;
  /** How long one may wait for its plan. */
  ttlMs: number;
}

export const DEFAULT_ORPHAN_LIMITS: OrphanLimits = { budgetBytes: 64 * 2 ** 20, ttlMs: 3600_000 };

/** The limits from the plotter's flags, else its environment, else the defaults; a value that is not a positive number is refused, named. */
export function orphanLimitsFrom(flags: { budgetMiB?: string | number | undefined; ttlSeconds?: string | number | undefined }, env: NodeJS.ProcessEnv): OrphanLimits {
  /** A value in its flag's unit, scaled to bytes or ms; the fallback is already scaled. */
  const positive = (flag: string, envName: string, given: string | number | undefined, fallback: number, scale: number): number => {
    const text = given ?? env[envName];
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!(Number.isFinite(n) && n > 0)) throw new Error(`${flag} (or ${envName}) must be a positive number (got '${text}')`);
    return n * scale;
  };
  const { budgetBytes, ttlMs } = DEFAULT_ORPHAN_LIMITS;
  return {
    budgetBytes: Math.floor(positive('--orphan-budget-mib', 'HZZ_PLOTTER_ORPHAN_BUDGET_MIB', flags.budgetMiB, budgetBytes, 2 ** 20)),
    ttlMs: positive('--orphan-ttl-seconds', 'HZZ_PLOTTER_ORPHAN_TTL_SECONDS', flags.ttlSeconds, ttlMs, 1000),
  };
}

export interface Orphan {
  analysis: string;
  chunk: number;
  file: string;
  bytes: number;
  /** When it was stored (its file's mtime after a restart), ms since the epoch. */
  storedAt: number;
}

export class Orphans {
  private total = 0;
  private deadLetters: ConfirmPublisher | undefined;

  constructor(private readonly opts: {
    limits: OrphanLimits;
    topology: Topology;
    /** Every analysis the plotter holds. */
    states: () => Iterable<AnalysisState>;
    counters: { orphansDeadLettered: number };
    log: Log;
  }) {}

  get limits(): OrphanLimits {
    return this.opts.limits;
  }

  /** Where dead letters go; until there is a broker, orphans are only held. */
  useDeadLetters(publisher: ConfirmPublisher): void {
    this.deadLetters = publisher;
  }

  /** Bytes held by all orphans. */
  get bytes(): number {
    return this.total;
  }

  /** Why a partial of `bytes` cannot be held at all, if so. */
  tooLarge(analysis: string, bytes: number): string | undefined {
    const { budgetBytes } = this.opts.limits;
    return bytes > budgetBytes ? `partial: no plan for '${analysis}' yet, and its ${bytes} bytes alone exceed the plotter's orphan budget of ${budgetBytes} bytes` : undefined;
  }

  /** Dead-letters the oldest orphans until `incoming` more bytes fit (an earlier copy of the same chunk, about to be replaced, does not count). */
  async makeRoom(incoming: number, replacing?: Orphan): Promise<void> {
    const { budgetBytes } = this.opts.limits;
    let held = this.total - (replacing?.bytes ?? 0);
    for (const [s, o] of this.oldestFirst()) {
      if (held + incoming <= budgetBytes) return;
      if (o === replacing) continue;
      await this.deadLetter(s, o, `partial: no plan for '${o.analysis}' yet, and the partials without a plan exceed the plotter's orphan budget of ${budgetBytes} bytes: the oldest go first (this one held ${seconds(Date.now() - o.storedAt)} s)`);
      held -= o.bytes;
    }
  }

  /** Dead-letters the orphans past their time to live, then those over the budget (after a restart with a smaller one, say). */
  async sweep(now = Date.now()): Promise<void> {
    const { ttlMs } = this.opts.limits;
    for (const [s, o] of this.oldestFirst()) {
      if (now - o.storedAt <= ttlMs) break;
      await this.deadLetter(s, o, `partial: no plan for '${o.analysis}' came within the plotter's orphan time to live of ${seconds(ttlMs)} s (held ${seconds(now - o.storedAt)} s)`);
    }
    await this.makeRoom(0);
  }

  hold(s: AnalysisState, o: Orphan): void {
    this.release(s, o.chunk);
    s.orphans.set(o.chunk, o);
    this.total += o.bytes;
  }

  /** No longer an orphan (its plan came and it fits): the caller has it now. */
  release(s: AnalysisState, chunk: number): void {
    const o = s.orphans.get(chunk);
    if (!o) return;
    s.orphans.delete(chunk);
    this.total -= o.bytes;
  }

  /** Publishes the stored orphan to the dead-letter queue with the reason, then removes its file. */
  async deadLetter(s: AnalysisState, o: Orphan, reason: string): Promise<void> {
    if (!this.deadLetters) throw new Error(`cannot dead-letter chunk ${o.chunk} of '${o.analysis}': no broker`);
    const { topology, log, counters } = this.opts;
    await publishDeadLetter(this.deadLetters, topology, {
      queue: topology.queues.partials, body: readFileSync(o.file), properties: partialProperties(o.analysis, o.chunk),
    }, reason);
    rmSync(o.file, { force: true });
    this.release(s, o.chunk);
    counters.orphansDeadLettered++;
    log('dead-lettered an orphan partial', { analysis: o.analysis, chunk: o.chunk, bytes: o.bytes, reason });
  }

  private oldestFirst(): [AnalysisState, Orphan][] {
    const all: [AnalysisState, Orphan][] = [];
    for (const s of this.opts.states()) for (const o of s.orphans.values()) all.push([s, o]);
    return all.sort((a, b) => a[1].storedAt - b[1].storedAt);
  }
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;
