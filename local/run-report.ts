import type { PlanResult } from '../core/chunk-plan.js';
import { errorKind, errorMessage, type FailureKind } from '../core/contracts/errors.js';
import type { RunSummary } from '../core/contracts/run-summary.js';
import type { SampleHistogram } from '../core/histogram.js';
import type { MergedHistograms } from '../core/merge.js';
import { writeOutputs } from '../core/outputs.js';
import { categoryYields, sampleYields, windowYield } from '../core/yields.js';

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
  /** Chunk attempts that failed and were tried again (a crashed process, a stalled server). */
  retried: RunFailure[];
  seconds: number;
}

/** The samples left out of the plan, because their file could not be found or opened. */
export function sampleFailures(planned: PlanResult): RunFailure[] {
  return planned.failures.map((f) => ({ what: `sample ${f.sample}`, kind: errorKind(f.error), message: errorMessage(f.error) }));
}

/** Writes the output folder's files (core/outputs.ts); returns their paths. */
export function writeRunOutputs(out: string, report: LocalRunReport): string[] {
  return writeOutputs(out, report.results, { failures: report.failures, wallSeconds: report.seconds });
}

/**
 * `hzz run --json` (core/contracts/run-summary.ts): the run's result, the same numbers as the table
 * (core/yields.ts) per category and per sample with their cut-flow, the luminosity, the stand-ins,
 * the failures and the files written.
 */
export function runSummary(report: LocalRunReport, out: string, files: string[]): RunSummary {
  const r = report.results;
  const standIns = new Set(r.plan.samples.filter((s) => s.standIn).map((s) => s.sample));
  const cutflow = (h: SampleHistogram) => (r.plan.cuts ? h.cutflow : []);
  return {
    schema: 'hzz.run-summary/v1',
    out,
    files,
    seconds: report.seconds,
    lumi: r.plan.lumi,
    ...(r.plan.lumiSource && { lumiSource: r.plan.lumiSource }),
    chunks: { total: r.plan.chunks, done: r.chunksDone },
    cuts: r.plan.cuts ?? [],
    categories: categoryYields(r).map((y) => ({ ...y, cutflow: cutflow(r.categories.get(y.name)!) })),
    samples: sampleYields(r).map((y) => ({ ...y, cutflow: cutflow(r.samples.get(y.name)!), ...(standIns.has(y.name) && { standIn: true as const }) })),
    higgsWindow: windowYield(r) ?? null,
    failures: report.failures,
    retried: report.retried,
  };
}

/** The end-of-run table: what was read, what passed, and the weighted yield per category (or per sample). */
export function summaryTable(report: LocalRunReport, opts: { bySample?: boolean } = {}): string {
  const r = report.results;
  const yields = opts.bySample ? sampleYields(r) : categoryYields(r);
  const standIns = new Set(r.plan.samples.filter((s) => s.standIn).flatMap((s) => [s.sample, s.category]));
  const rows: string[][] = [[opts.bySample ? 'sample' : 'category', 'kind', 'events read', 'selected', 'in range', 'weighted yield', '± stat']];
  for (const y of yields) {
    const data = y.kind === 'data';
    rows.push([y.name + (standIns.has(y.name) ? ' (stand-in)' : ''), y.kind, String(y.read), String(y.selected), String(y.inRange),
      data ? String(y.inRange) : y.yield.toFixed(4), data ? y.statUnc.toFixed(1) : y.statUnc.toFixed(4)]);
  }
  const read = categoryYields(r).reduce((t, y) => t + y.read, 0);
  const rate = report.seconds > 0 ? Math.round(read / report.seconds) : 0;
  const w = windowYield(r);
  const source = { set: 'as set', data: 'the data that ran', catalogue: "the catalogue's default: no data ran" }[r.plan.lumiSource ?? 'set'];
  return [
    ...table(rows),
    '',
    ...cutflowTable(r, opts.bySample === true),
    `MC normalised to ${r.plan.lumi} fb⁻¹ (${source})`,
    ...(w ? [`${w.lo}-${w.hi} GeV: signal ${w.signal.toFixed(3)}, background ${w.background.toFixed(3)}, data ${w.data}; s/√b ${w.sOverSqrtB.toPrecision(3)}, Asimov Z ${w.asimovZ.toPrecision(3)}`] : []),
    `chunks ${r.chunksDone}/${r.plan.chunks}, wall time ${report.seconds.toFixed(2)} s, ${rate.toLocaleString('en-US')} events/s`,
  ].join('\n');
}

/** Rows as aligned columns under a rule: the first two columns (names) to the left, numbers to the right. */
function table(rows: string[][], leftColumns = 2): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((v, i) => (i < leftColumns ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)];
}

/** The cut-flow: per category (or sample), the events read and those passing each cut and all before it. */
function cutflowTable(r: MergedHistograms, bySample: boolean): string[] {
  if (!r.plan.cuts || r.plan.cuts.length === 0) return [];
  const columns = bySample ? r.plan.samples.map((s) => [s.sample, r.samples.get(s.sample)!] as const) : r.plan.categories.map((c) => [c.name, r.categories.get(c.name)!] as const);
  const rows = [['cut', ...columns.map(([name]) => name)], ['(read)', ...columns.map(([, h]) => String(h.nRead))]];
  r.plan.cuts.forEach((cut, i) => rows.push([cut, ...columns.map(([, h]) => String(h.cutflow[i]))]));
  return [...table(rows, 1), ''];
}
