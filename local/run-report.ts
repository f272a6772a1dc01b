import type { PlanResult } from '../core/chunk-plan.js';
import { errorKind, errorMessage, type FailureKind } from '../core/contracts/errors.js';
import type { MergedHistograms } from '../core/merge.js';
import { writeOutputs } from '../core/outputs.js';

/**
 * What `hzz run` reports, with or without a broker: the merged histograms of what succeeded, and
 * every sample and chunk that failed, in the output folder and as the end-of-run table.
 */
export interface RunFailure {
  /** What failed: a sample (its file could not be opened) or a chunk. */
  what: string;
  kind: FailureKind;
  message: string;
}

export interface LocalRunReport {
  results: MergedHistograms;
  failures: RunFailure[];
  seconds: number;
}

/** The samples left out of the plan, because their file could not be found or opened. */
export function sampleFailures(planned: PlanResult): RunFailure[] {
  return planned.failures.map((f) => ({ what: `sample ${f.sample}`, kind: errorKind(f.error), message: errorMessage(f.error) }));
}

export function writeRunOutputs(out: string, report: LocalRunReport): void {
  writeOutputs(out, report.results, { failures: report.failures, wallSeconds: report.seconds });
}

/** The end-of-run table: what was read, what passed, and the weighted yield per category. */
export function summaryTable(report: LocalRunReport): string {
  const { plan, categories } = report.results;
  const rows: string[][] = [['category', 'kind', 'events read', 'selected', 'in range', 'weighted yield']];
  let read = 0;
  for (const c of plan.categories) {
    const h = categories.get(c.name)!;
    if (!plan.samples.some((s) => s.category === c.name)) continue;
    read += h.nRead;
    const inRange = h.entries.reduce((a, b) => a + b, 0);
    const yieldSum = h.sumw.reduce((a, b) => a + b, 0);
    rows.push([c.name, c.kind, String(h.nRead), String(h.nSelected), String(inRange), c.kind === 'data' ? String(inRange) : yieldSum.toFixed(4)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  const rate = report.seconds > 0 ? Math.round(read / report.seconds) : 0;
  return [
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    '',
    `chunks ${report.results.chunksDone}/${plan.chunks}, wall time ${report.seconds.toFixed(2)} s, ${rate.toLocaleString('en-US')} events/s`,
  ].join('\n');
}
