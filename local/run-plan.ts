import { loadDefinition, withPlotBinning } from '../core/analysis/load-definition.js';
import { loadCatalogue, lumiProblem, selectSamples, type Catalogue } from '../core/catalogue.js';
import { planAnalysis, type PlanResult } from '../core/chunk-plan.js';
import { localAnalysisId } from '../core/contracts/analysis-id.js';
import { badInput } from '../core/contracts/errors.js';
import type { AnalysisDefinition } from '../core/contracts/analysis-definition.js';
import { binningProblems, type Binning } from '../core/histogram.js';
import { HZZ_RUN_RETRY } from './run-chunks.js';

/**
 * `hzz run`'s options and its plan, the same with or without `--broker`: the catalogue, the samples
 * and the files cut into the chunks the cluster would run.
 */
export interface LocalRunOptions {
  catalogue?: string | undefined;
  /** An analysis definition: a shipped one's name or a JSON file; by default the one named as the catalogue's release. */
  analysis?: string | undefined;
  /** Local folder or URL prefix; the catalogue's official URL prefix when absent. */
  data?: string | undefined;
  samples?: string[] | undefined;
  chunkSize: number;
  parallel?: number | undefined;
  lumi?: number | undefined;
  binning?: Binning | undefined;
  onPlanned?: (p: PlanResult) => void;
  onChunk?: (done: number, total: number) => void;
}

export interface PreparedRun {
  catalogue: Catalogue;
  /** --lumi; absent, the plan takes the data's (runLumi). */
  lumi: number | undefined;
  /** With --bins applied to its first histogram. */
  definition: AnalysisDefinition;
}

/** Checks and completes the options, so that bad input fails before any file is opened. */
export function prepareRun(opts: LocalRunOptions): PreparedRun {
  if (!(Number.isInteger(opts.chunkSize) && opts.chunkSize > 0)) throw badInput('--chunk-size', `must be a positive whole number (got ${opts.chunkSize})`);
  if (opts.parallel !== undefined && !(Number.isInteger(opts.parallel) && opts.parallel > 0)) throw badInput('--parallel', `must be a positive whole number (got ${opts.parallel})`);
  const catalogue = loadCatalogue(opts.catalogue);
  const lumi = opts.lumi;
  const lumiWrong = lumi === undefined ? undefined : lumiProblem(lumi);
  if (lumiWrong) throw badInput('--lumi', lumiWrong);
  const problems = opts.binning ? binningProblems(opts.binning) : [];
  if (problems.length > 0) throw badInput('binning', problems.join('; '));
  const definition = withPlotBinning(loadDefinition(opts.analysis ?? catalogue.release).definition, opts.binning);
  return { catalogue, lumi, definition };
}

/** Reads every selected file's header and cuts the files into chunks; reports the plan to onPlanned. */
export async function planLocalRun(opts: LocalRunOptions, prepared = prepareRun(opts)): Promise<PlanResult> {
  const { catalogue, lumi, definition } = prepared;
  const planned = await planAnalysis({
    analysis: localAnalysisId(new Date()),
    catalogue, samples: selectSamples(catalogue, opts.samples), source: opts.data ?? catalogue.urlPrefix,
    lumi, definition, chunkSize: opts.chunkSize, retry: HZZ_RUN_RETRY,
  });
  opts.onPlanned?.(planned);
  return planned;
}
