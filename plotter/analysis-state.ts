import type { PartialHistogram, Plan } from '../core/contracts/messages.js';
import { mergePartials, type MergedHistograms } from '../core/merge.js';
import { formatRanges } from '../core/chunk-ranges.js';
import type { PlotterStatus } from '../core/contracts/plotter-status.js';
import type { Orphan } from './orphans.js';

/**
 * One analysis as the plotter knows it: its plan (once it has come) and its stored partials, one per
 * chunk index. Partials that came before the plan are orphans (orphans.ts): on disk only, until the
 * plan comes and they are counted, or dead-lettered when they do not fit it. Its status is the
 * contract document hzz.status/v1 (core/contracts/plotter-status.ts), from which the operator takes
 * completion.
 */
export type AnalysisProgress = PlotterStatus;

export class AnalysisState {
  plan: Plan | undefined;
  readonly partials = new Map<number, PartialHistogram>();
  /** Before the plan: the chunks stored on disk, by index (none once the plan has come). */
  readonly orphans = new Map<number, Orphan>();
  /** Complete, its partials on disk only (see retire()). */
  private retired = false;
  /** The chunk count the outputs on disk were last drawn from, and whether that draw worked. */
  drawnDone = -1;
  writeError: string | undefined;
  failed: string | undefined;
  /** When the plan, a partial or the drawing last changed. */
  updatedAt = new Date();

  constructor(readonly id: string, readonly dir: string) {}

  touch(): void {
    this.updatedAt = new Date();
  }

  /**
   * Drops the partials of a complete analysis from memory: its outputs are drawn from all of them
   * and cannot change any more (a partial still arriving is a copy of one it has), so a plotter that
   * has served many analyses holds a plan and a count for each, not every chunk's histogram. The
   * partials stay on disk, where results() of the plotter reads them back if asked. Only for an
   * analysis with a plan whose every chunk is stored and drawn.
   */
  retire(): void {
    this.drawnDone = this.plan!.chunks;
    this.retired = true;
    this.partials.clear();
  }

  get isRetired(): boolean {
    return this.retired;
  }

  has(index: number): boolean {
    return this.retired ? index < this.plan!.chunks : this.partials.has(index) || this.orphans.has(index);
  }

  /** The indices of the chunks that count, ascending. */
  storedChunks(): number[] {
    if (this.retired) return Array.from({ length: this.plan!.chunks }, (_, i) => i);
    return [...this.partials.keys()].sort((a, b) => a - b);
  }

  get done(): number {
    return this.retired ? this.plan!.chunks : this.partials.size;
  }

  get allIn(): boolean {
    return this.plan !== undefined && this.done === this.plan.chunks;
  }

  /** From the partials in memory (each fits the plan); a retired analysis's are passed in (read back from disk). */
  results(partials: Iterable<PartialHistogram> = this.partials.values()): MergedHistograms | undefined {
    return this.plan ? mergePartials(this.plan, [...partials]) : undefined;
  }

  status(): AnalysisProgress {
    const done = this.plan ? this.done : this.orphans.size;
    const drawn = this.plan !== undefined && this.drawnDone === done && this.writeError === undefined && this.failed === undefined;
    return {
      schema: 'hzz.status/v1',
      analysis: this.id,
      planned: this.plan !== undefined,
      chunks: { total: this.plan?.chunks ?? null, done },
      stored: this.plan ? formatRanges(this.storedChunks()) : '',
      drawn,
      complete: this.allIn && drawn,
      ...(this.writeError ? { writeError: this.writeError } : {}),
      ...(this.failed ? { failed: this.failed } : {}),
      updatedAt: this.updatedAt.toISOString(),
    };
  }
}
