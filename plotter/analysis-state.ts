import type { PartialHistogram, Plan } from '../core/contracts/messages.js';
import { mergePartials, type MergedHistograms } from '../core/merge.js';
import type { Orphan } from './orphans.js';

/**
 * One analysis as the plotter knows it: its plan (once it has come) and its stored partials, one per
 * chunk index. Partials that came before the plan are orphans (orphans.ts): on disk only, until the
 * plan comes and they are counted, or dead-lettered when they do not fit it.
 */
export interface AnalysisProgress {
  schema: 'hzz.status/v1';
  analysis: string;
  /** False until the plan has arrived; `chunks.total` is null until then. */
  planned: boolean;
  chunks: { total: number | null; done: number };
  /** Every chunk of the plan is in and the outputs were drawn from all of them. */
  complete: boolean;
  /** The output folder refused the last write of this analysis (a full disk, say); it is retried. */
  writeError?: string;
  /** The drawing failed for a reason that drawing again cannot cure (a sum that overflows): not retried. */
  failed?: string;
  updatedAt: string;
}

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
    return {
      schema: 'hzz.status/v1',
      analysis: this.id,
      planned: this.plan !== undefined,
      chunks: { total: this.plan?.chunks ?? null, done },
      complete: this.allIn && this.drawnDone === done && this.writeError === undefined && this.failed === undefined,
      ...(this.writeError ? { writeError: this.writeError } : {}),
      ...(this.failed ? { failed: this.failed } : {}),
      updatedAt: this.updatedAt.toISOString(),
    };
  }
}
