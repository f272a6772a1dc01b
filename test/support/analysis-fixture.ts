import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDefinition } from '../../core/analysis/load-definition.js';
import { analyzeChunk, toPartial } from '../../core/analyze-chunk.js';
import { loadCatalogue, selectSamples } from '../../core/catalogue.js';
import { planAnalysis } from '../../core/chunk-plan.js';
import type { AnalysisDefinition } from '../../core/contracts/analysis-definition.js';
import type { PartialHistogram, Plan, Task } from '../../core/contracts/messages.js';
import { drawPartialKey, PARTIAL_KEY_ENV, signPartial } from '../../core/contracts/partial-signature.js';
import { mergePartials, type MergedHistograms } from '../../core/merge.js';
import { histogramsDocument } from '../../core/outputs.js';
import { SHARED_DATA } from './paths.js';

/**
 * The analysis the pipeline tests run: by default data and Z,tt̄ from the shared files, a couple of hundred
 * entries per chunk, so there are enough chunks to interrupt a run halfway. The expected result is
 * computed in-process with the same core, without any broker.
 */
export const DATA_DIR = SHARED_DATA;

export interface Fixture {
  /** With a partialKey of its own, as every published plan has. */
  plan: Plan;
  tasks: Task[];
  expected: MergedHistograms;
  /** What a worker of this analysis gets: its HZZ_PARTIAL_KEY. */
  workerEnv: Record<string, string>;
  /** A hand-made partial, signed as this analysis's workers sign. */
  sign(p: PartialHistogram): PartialHistogram;
}

export async function analysisFixture(analysis: string, chunkSize = 200, samples = ['data', 'Ztt']): Promise<Fixture> {
  const cat = loadCatalogue();
  const { plan, tasks, failures } = await planAnalysis({
    analysis, catalogue: cat, samples: selectSamples(cat, samples), source: DATA_DIR,
    definition: DEFINITION, chunkSize,
  });
  if (failures.length) throw new Error(`fixture samples missing: ${failures.map((f) => f.sample).join(', ')}`);
  const partials = [];
  for (const t of tasks) partials.push(toPartial(t, await analyzeChunk(t)));
  const partialKey = drawPartialKey();
  return {
    plan: { ...plan, partialKey }, tasks, expected: mergePartials(plan, partials),
    workerEnv: { [PARTIAL_KEY_ENV]: partialKey }, sign: (p) => signPartial(p, partialKey),
  };
}

/** What "identical" means: every number of every sample and category, via a JSON round trip. */
export function histogramsOf(r: MergedHistograms): unknown {
  return JSON.parse(JSON.stringify(histogramsDocument(r)));
}

const CATALOGUE = loadCatalogue();
/** The default catalogue's analysis: the 2020 notebook's. */
export const DEFINITION = loadDefinition(CATALOGUE.release).definition;

/** A task for one chunk of one file under the default catalogue's tree and analysis (data: no weights). */
export function chunkTask(url: string, over: Partial<Omit<Task, 'chunk'>> & { entryStop?: number; entryStart?: number } = {}): Task {
  const { entryStart = 0, entryStop = 10, ...rest } = over;
  return {
    schema: 'hzz.task/v2', analysis: 't', tree: CATALOGUE.tree, energyUnit: CATALOGUE.energyUnit, definition: DEFINITION,
    lumi: 10, chunk: { index: 0, sample: 's', category: 'data', url, entryStart, entryStop }, ...rest,
  };
}

export function tempDir(label: string): { path: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), `hzz-${label}-`));
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}

/** The definition with one branch called otherwise everywhere: a definition naming a branch the file lacks. */
export function renamedBranch(def: AnalysisDefinition, from: string, to: string): AnalysisDefinition {
  return JSON.parse(JSON.stringify(def).replaceAll(`"${from}"`, `"${to}"`).replaceAll(`${from}[`, `${to}[`)) as AnalysisDefinition;
}
