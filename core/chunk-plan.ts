import { checkDefinition } from './analysis/check-definition.js';
import { branchesRead } from './analysis/compile-definition.js';
import { checkTreeTypes } from './analysis/tree-types.js';
import { categoryOf, runLumi, type Catalogue, type Sample } from './catalogue.js';
import { Value } from '@sinclair/typebox/value';
import type { AnalysisDefinition } from './contracts/analysis-definition.js';
import { withRetries, type ChunkRetryRule } from './contracts/chunk-retry.js';
import { badInput, errorMessage } from './contracts/errors.js';
import { PlanSchema, STAND_IN_TITLE, XsecWeightSchema, type Chunk, type Plan, type Task } from './contracts/messages.js';
import { locateSample } from './locate.js';
import { RootTree } from './root/tree.js';
import { checked } from './schema-check.js';
import { crossSectionWeight } from './weights.js';

/**
 * Splitting the analysis into chunks (a file and an entry range). The same plan drives the local
 * run and the cluster, so a chunk's result does not depend on where it ran.
 */
export interface PlannedFile {
  sample: string;
  category: string;
  url: string;
  entries: number;
  /** Entries per cluster: the even spacing of the basket boundaries the analysis's branches share. */
  clusterEntries?: number | undefined;
}

/**
 * Pure: each file cut into consecutive ranges of at most `chunkSize` entries, in catalogue order.
 * In a file of evenly sized clusters the ranges are whole clusters (at least one, so at most
 * max(chunkSize, clusterEntries) entries): a boundary inside a basket would have the basket read and
 * inflated twice, by the chunks on both sides of it, which on 20,000-entry baskets and the default
 * 50,000-entry chunks is 40% more decoding. Coffea's `align_clusters` does the same.
 */
export function splitIntoChunks(files: readonly PlannedFile[], chunkSize: number): Chunk[] {
  if (!(Number.isInteger(chunkSize) && chunkSize > 0)) throw new Error(`chunk size must be a positive whole number (got ${chunkSize})`);
  const chunks: Chunk[] = [];
  for (const f of files) {
    const cluster = f.clusterEntries ?? 1;
    const step = Math.max(1, Math.floor(chunkSize / cluster)) * cluster;
    for (let start = 0; start < f.entries; start += step) {
      chunks.push({ index: chunks.length, sample: f.sample, category: f.category, url: f.url, entryStart: start, entryStop: Math.min(f.entries, start + step) });
    }
  }
  return chunks;
}

export interface PlanRequest {
  analysis: string;
  catalogue: Catalogue;
  samples: readonly Sample[];
  /** A local folder or an http(s) URL prefix. */
  source: string;
  /** fb⁻¹ when set (--lumi, spec.lumi); otherwise the data's (runLumi). */
  lumi?: number | undefined;
  /** The analysis the chunks run; its first histogram is the plan's. */
  definition: AnalysisDefinition;
  chunkSize: number;
  /**
   * When a file that failed to open (a server that stalled or answered 503) is tried again: `hzz
   * run` gives its chunk retry rule; the operator none, as its work queue plans again later.
   */
  retry?: ChunkRetryRule | undefined;
}

export interface PlanResult {
  plan: Plan;
  tasks: Task[];
  /** Samples whose file could not be found or opened: they are left out of the plan. */
  failures: { sample: string; error: unknown }[];
}

/**
 * Reads each file's header (the TTree object: entry count and basket tables, no events), then plans
 * the chunks.
 */
export async function planAnalysis(req: PlanRequest): Promise<PlanResult> {
  const { catalogue: cat, definition } = req;
  const checkedDefinition = checkDefinition(definition);
  const opened = await Promise.all(req.samples.map(async (s) => {
    try {
      const url = locateSample(req.source, s);
      const open = () => RootTree.open(url, cat.tree);
      const tree = await (req.retry ? withRetries(req.retry, open) : open());
      const reads = branchesRead(checkedDefinition, categoryOf(cat, s).kind !== 'data');
      checkTreeTypes(tree, reads, definition.branches, definition.name);
      const file: PlannedFile = { sample: s.name, category: s.category, url, entries: tree.entries, clusterEntries: tree.clusterEntries(reads.map((b) => b.name)) };
      return { sample: s, file, standIn: tree.title.startsWith(STAND_IN_TITLE) };
    } catch (error) {
      return { sample: s, error };
    }
  }));
  const ran = opened.flatMap((o) => (o.file ? [o] : []));
  const files = ran.map((o) => o.file);
  const failures = opened.flatMap((o) => ('error' in o ? [{ sample: o.sample.name, error: o.error }] : []));
  // The luminosity of the data that opened: a data file that failed is reported, not counted.
  const { lumi, lumiSource } = runLumi(cat, ran.map((o) => o.sample), req.lumi);
  const chunks = splitIntoChunks(files, req.chunkSize);
  const plan: Plan = {
    schema: 'hzz.plan/v2', analysis: req.analysis, release: cat.release, lumi, lumiSource, binning: definition.histograms[0]!.binning,
    cuts: definition.cuts.map((c) => c.name), histograms: definition.histograms.map(({ name, label, binning }) => ({ name, label, binning })),
    // Only the categories that run: one that did not is no part of the result (no legend entry, no zero arrays).
    categories: cat.categories.filter((c) => ran.some((o) => o.sample.category === c.name)).map(({ name, kind, label, color }) => ({ name, kind, label, color })),
    samples: ran.map(({ sample: s, file, standIn }) => ({
      sample: file.sample, category: file.category, url: file.url, entries: file.entries, ...optional('clusterEntries', file.clusterEntries),
      ...optional('xsecWeight', mcWeightOf(cat, s, lumi)), ...optional('lumi', s.lumi), ...optional('standIn', standIn || undefined),
    })),
    chunkSize: req.chunkSize,
    chunks: chunks.length,
    unplanned: failures.map((f) => ({ sample: f.sample, error: errorMessage(f.error) })),
  };
  const tasks = chunkTasks(plan, { tree: cat.tree, energyUnit: cat.energyUnit, definition }, chunks);
  return { plan: checked(PlanSchema, plan, `plan ${req.analysis}`), tasks, failures };
}

/**
 * The plan's chunks, derived from the plan alone: what the plotter checks a partial's chunk
 * against, and what the operator rebuilds its Jobs' tasks from.
 */
export function planChunks(plan: Plan): Chunk[] {
  return splitIntoChunks(plan.samples.map(({ sample, category, url, entries, clusterEntries }) => ({ sample, category, url, entries, clusterEntries })), plan.chunkSize);
}

/** The tree, its energy unit and the analysis definition, as a task carries them. */
export type TreeLayout = Pick<Task, 'tree' | 'energyUnit' | 'definition'>;

/**
 * A task per chunk: the chunk, the tree and the definition to run on it, the plan's luminosity and
 * its sample's cross-section weight. The operator rebuilds a stored plan's tasks with this too, so a Job gets the
 * very task `hzz run` would have analysed.
 */
export function chunkTasks(plan: Plan, layout: TreeLayout, chunks: readonly Chunk[]): Task[] {
  const xsecWeights = new Map(plan.samples.map((s) => [s.sample, s.xsecWeight]));
  return chunks.map((chunk): Task => ({
    schema: 'hzz.task/v2', analysis: plan.analysis, chunk, tree: layout.tree, energyUnit: layout.energyUnit,
    definition: layout.definition, lumi: plan.lumi, ...optional('xsecWeight', xsecWeights.get(chunk.sample)),
  }));
}

function mcWeightOf(cat: Catalogue, s: Sample, lumi: number): number | undefined {
  if (categoryOf(cat, s).kind === 'data') return undefined;
  const w = crossSectionWeight(lumi, { xsec: s.xsec!, sumw: s.sumw!, efficiency: s.efficiency! });
  // Each number may be in range and their quotient not: the worker would weigh every event 0 or Infinity.
  if (!Value.Check(XsecWeightSchema, w)) {
    throw badInput(`sample '${s.name}'`, `its cross-section weight lumi × 1000 × xsec / (sumw × efficiency) = ${lumi} × 1000 × ${s.xsec} / (${s.sumw} × ${s.efficiency}) = ${w} is outside [${XsecWeightSchema.minimum}, ${XsecWeightSchema.maximum}]`);
  }
  return w;
}

const optional = <K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } =>
  (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };

export function describeFailure(f: { sample: string; error: unknown }): string {
  return `${f.sample}: ${errorMessage(f.error)}`;
}
