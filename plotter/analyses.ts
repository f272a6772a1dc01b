import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { analysisDir } from '../core/contracts/analysis-id.js';
import { errorMessage } from '../core/contracts/errors.js';
import type { PartialHistogram, Plan } from '../core/contracts/messages.js';
import type { MergedHistograms } from '../core/merge.js';
import { writeOutputs } from '../core/outputs.js';
import { canonicalJson } from '../core/util/canonical-json.js';
import type { Log } from '../core/util/log.js';
import { AnalysisState, type AnalysisProgress } from './analysis-state.js';
import { parsePartial, partialMismatch, type Checked } from './message-checks.js';
import type { ConfirmPublisher } from '../transport/publisher.js';
import type { Topology } from '../transport/topology.js';
import { loadPartials, scanOutputRoot, storePartial, storePlan, storeStatus } from './output-store.js';
import { Orphans, type Orphan, type OrphanLimits } from './orphans.js';
import type { SerialWork } from './serial-work.js';
import { KeyedThrottle } from './throttle.js';

/**
 * The plotter's analyses: what it holds of each (plan, partials, what was drawn), stored in the
 * output folder as it changes and read back from there at start-up, and the drawing of each
 * analysis's outputs as its chunks come in (at most once per interval, at once for the last chunk).
 * Every change runs inside the plotter's serial work, so none interleaves with another.
 *
 * Events on `events`: 'plan' (id), 'drawn' (progress), 'complete' (progress).
 */
export interface AnalysesOptions {
  out: string;
  work: SerialWork;
  events: EventEmitter;
  counters: { partialsStored: number; copiesDropped: number; plansStored: number; orphansDeadLettered: number };
  log: Log;
  topology: Topology;
  orphanLimits: OrphanLimits;
  /** Minimum time between two redraws of one analysis. */
  drawIntervalMs: number;
  /** The last write to the output folder failed, and none has worked since: why. */
  health: { writeError?: string | undefined };
}

/** An error of the operating system (ENOSPC, EIO, EACCES, …), as Node gives them: a string `code` and a `syscall`. */
const isSystemError = (err: unknown): boolean =>
  err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';

/** Why a stored orphan does not count under the plan that came, or undefined when it does. */
function orphanMisfit(o: Orphan, plan: Plan, p: PartialHistogram): string | undefined {
  if (p.analysis !== o.analysis || p.chunk.index !== o.chunk) return `partial: stored as chunk ${o.chunk} of '${o.analysis}', but it is chunk ${p.chunk.index} of '${p.analysis}'`;
  const mismatch = partialMismatch(plan, p);
  return mismatch === undefined ? undefined : `partial: ${mismatch}`;
}

export class Analyses {
  private readonly states = new Map<string, AnalysisState>();
  private readonly throttle: KeyedThrottle;
  private readonly orphans: Orphans;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly opts: AnalysesOptions) {
    this.throttle = new KeyedThrottle(opts.drawIntervalMs, (id) => {
      opts.work.run(() => this.draw(id)).catch((err) => opts.log('drawing failed', { analysis: id, error: errorMessage(err) }));
    });
    this.orphans = new Orphans({ limits: opts.orphanLimits, topology: opts.topology, states: () => this.states.values(), counters: opts.counters, log: opts.log });
  }

  /**
   * Orphans past their limits go to the dead-letter queue through `publisher`: at once (the folder
   * may hold more than the budget after a restart), then as they age. Sweeps run in the serial work.
   */
  sweepOrphans(publisher: ConfirmPublisher): void {
    this.orphans.useDeadLetters(publisher);
    const sweep = (): void => {
      this.opts.work.run(() => this.orphans.sweep()).catch((err) => this.opts.log('could not dead-letter orphan partials; will try again', { error: errorMessage(err) }));
    };
    sweep();
    this.sweeper = setInterval(sweep, Math.min(Math.max(this.opts.orphanLimits.ttlMs / 10, 1000), 60_000));
    this.sweeper.unref();
  }

  progress(id: string): AnalysisProgress | undefined {
    return this.states.get(id)?.status();
  }

  all(): AnalysisProgress[] {
    return [...this.states.values()].map((s) => s.status());
  }

  /** Whether the analysis holds every listed chunk (counted or not). */
  holds(id: string, indices: readonly number[]): boolean {
    const s = this.states.get(id);
    return s !== undefined && indices.every((i) => s.has(i));
  }

  /** The merged result of an analysis's counted partials, as last stored. */
  results(id: string): MergedHistograms | undefined {
    const s = this.states.get(id);
    return s?.isRetired ? s.results(loadPartials(id, s.dir, s.plan!, (msg, fields) => this.opts.log(msg, fields))) : s?.results();
  }

  /** Everything the plotter knew before it stopped is in the folder; outputs that lag behind are redrawn. */
  rebuild(): void {
    const { out, log } = this.opts;
    const found = scanOutputRoot(out, (msg, fields) => log(msg, fields));
    for (const a of found) {
      const s = new AnalysisState(a.id, a.dir);
      if (a.plan) s.plan = a.plan;
      for (const o of a.orphans) this.orphans.hold(s, { analysis: a.id, ...o });
      for (const p of a.partials) s.partials.set(p.chunk.index, p);
      const onDisk = a.status as Partial<AnalysisProgress> | undefined;
      if (a.complete) s.retire();
      this.states.set(a.id, s);
      if (typeof onDisk?.updatedAt === 'string' && !Number.isNaN(Date.parse(onDisk.updatedAt))) s.updatedAt = new Date(onDisk.updatedAt);
      if (s.plan && onDisk?.chunks?.done === s.done && onDisk.complete === s.allIn) s.drawnDone = s.done;
      else if (s.plan) this.throttle.request(s.id, { immediate: true });
    }
    log('rebuilt state from the output folder', {
      out, analyses: found.length, complete: found.filter((a) => a.complete).length, partials: found.reduce((n, a) => n + a.partials.length, 0),
      orphans: found.reduce((n, a) => n + a.orphans.length, 0), orphanBytes: this.orphans.bytes,
    });
  }

  /**
   * Stores a plan; true when it is new. A different plan under an existing id is refused. The
   * analysis's orphans are judged first: those that fit the plan count, the others are
   * dead-lettered with the reason (a failure to do so fails the call, and the plan comes again).
   */
  async storePlan(plan: Plan): Promise<Checked<boolean>> {
    const s = this.stateFor(plan.analysis);
    if (s.plan) {
      // An id names one generation, whose plan never changes; a different one would silently
      // reinterpret the chunks already stored under it.
      if (canonicalJson(s.plan) !== canonicalJson(plan)) return { ok: false, reason: `plan: conflicts with the plan already stored for '${plan.analysis}'` };
      this.opts.events.emit('plan', plan.analysis);
      return { ok: true, value: false };
    }
    const fitting = await this.adoptOrphans(s, plan);
    this.writing(s, () => storePlan(this.opts.out, plan));
    s.plan = plan;
    for (const p of fitting) s.partials.set(p.chunk.index, p);
    s.touch();
    this.opts.counters.plansStored++;
    this.opts.log('stored plan', { analysis: plan.analysis, chunks: plan.chunks, alreadyIn: s.done });
    this.opts.events.emit('plan', plan.analysis);
    this.throttle.request(s.id, { immediate: true });
    return { ok: true, value: true };
  }

  /** Stores a partial (`body`, as it came), replacing any earlier copy of the same chunk. */
  async storePartial(p: PartialHistogram, body: Uint8Array): Promise<Checked<void>> {
    const s = this.stateFor(p.analysis);
    if (!s.plan) return this.storeOrphan(s, p, body);
    const mismatch = partialMismatch(s.plan, p);
    if (mismatch) return { ok: false, reason: `partial: ${mismatch}` };
    if (s.isRetired) {
      // Every chunk of a complete analysis is in and drawn: this is a late copy of one (a retried
      // Job's, say). The first copy counted; this one changes nothing, on disk or in the outputs.
      this.opts.log('dropped a copy of a chunk of a complete analysis', { analysis: p.analysis, chunk: p.chunk.index });
      this.opts.counters.copiesDropped++;
      return { ok: true, value: undefined };
    }
    this.writing(s, () => storePartial(this.opts.out, p, body));
    s.partials.set(p.chunk.index, p);
    s.touch();
    this.opts.counters.partialsStored++;
    return { ok: true, value: undefined };
  }

  /** A partial before its plan: stored on disk only, within the budget, the oldest orphans making room. */
  private async storeOrphan(s: AnalysisState, p: PartialHistogram, body: Uint8Array): Promise<Checked<void>> {
    const tooLarge = this.orphans.tooLarge(s.id, body.length);
    if (tooLarge) return { ok: false, reason: tooLarge };
    await this.orphans.makeRoom(body.length, s.orphans.get(p.chunk.index));
    let file = '';
    this.writing(s, () => { file = storePartial(this.opts.out, p, body); });
    this.orphans.hold(s, { analysis: s.id, chunk: p.chunk.index, file, bytes: body.length, storedAt: Date.now() });
    s.touch();
    this.opts.counters.partialsStored++;
    return { ok: true, value: undefined };
  }

  /** The analysis's orphans that fit its plan, read from disk; those that do not are dead-lettered. */
  private async adoptOrphans(s: AnalysisState, plan: Plan): Promise<PartialHistogram[]> {
    const fitting: PartialHistogram[] = [];
    const misfits: [Orphan, string][] = [];
    for (const o of s.orphans.values()) {
      const parsed = parsePartial(readFileSync(o.file));
      const problem = parsed.ok ? orphanMisfit(o, plan, parsed.value) : parsed.reason;
      if (problem !== undefined) misfits.push([o, problem]);
      else if (parsed.ok) fitting.push(parsed.value);
    }
    for (const [o, reason] of misfits) await this.orphans.deadLetter(s, o, reason);
    for (const p of fitting) this.orphans.release(s, p.chunk.index);
    return fitting;
  }

  /** Redraws the analysis soon: at once when its last chunk is in. */
  requestDraw(id: string): void {
    const s = this.states.get(id);
    if (s?.plan && s.failed === undefined) this.throttle.request(id, { immediate: s.allIn });
  }

  /** Draws what is not drawn yet, then stops drawing and sweeping (the plotter is stopping). */
  async drawPendingAndStop(): Promise<void> {
    clearInterval(this.sweeper);
    for (const s of this.states.values()) if (s.plan && s.drawnDone !== s.done) await this.opts.work.run(() => this.draw(s.id)).catch(() => {});
    this.throttle.stop();
  }

  /** Runs inside the serial work: the state cannot change underneath. */
  draw(id: string): void {
    const s = this.states.get(id);
    // A retired analysis is drawn from all its chunks already, and holds none in memory to draw from.
    if (!s || s.isRetired || !s.plan || s.failed !== undefined) return;
    try {
      const results = s.results()!;
      this.writing(s, () => writeOutputs(s.dir, results));
      s.drawnDone = results.chunksDone;
      s.touch();
    } catch (err) {
      s.touch();
      if (isSystemError(err)) {
        // The disk or the folder (full, say), not the numbers: the same draw may work later.
        this.opts.log('drawing failed; will retry', { analysis: id, error: s.writeError });
        this.throttle.request(id);
      } else {
        // The same partials would fail the same way (a sum that overflows, say): drawing again cannot help.
        s.failed = errorMessage(err);
        this.opts.log('drawing failed for good; not retried', { analysis: id, error: s.failed });
      }
    }
    const status = s.status();
    this.writing(s, () => storeStatus(s.dir, status));
    this.opts.events.emit('drawn', status);
    if (status.complete) {
      s.retire();
      this.opts.log('analysis complete', { analysis: id, chunks: status.chunks.total, partials: 'on disk only' });
      this.opts.events.emit('complete', status);
    }
  }

  /**
   * A write to the output folder: a failure of the folder (ENOSPC, say) is kept in the analysis's
   * status and in `health` (the plotter is not ready while it lasts) until a write works again.
   */
  private writing(s: AnalysisState, write: () => void): void {
    try {
      write();
    } catch (err) {
      if (isSystemError(err)) this.opts.health.writeError = s.writeError = `${s.dir}: ${errorMessage(err)}`;
      throw err;
    }
    s.writeError = undefined;
    this.opts.health.writeError = undefined;
  }

  private stateFor(id: string): AnalysisState {
    let s = this.states.get(id);
    if (!s) {
      s = new AnalysisState(id, analysisDir(this.opts.out, id));
      this.states.set(id, s);
    }
    return s;
  }
}
