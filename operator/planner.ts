import { isAbsolute, join, relative } from 'node:path';
import { loadDefinition, parseDefinition, withPlotBinning } from '../core/analysis/load-definition.js';
import { parseCatalogue, selectSamples, type Catalogue } from '../core/catalogue.js';
import { describeFailure, planAnalysis, type PlanRequest, type PlanResult } from '../core/chunk-plan.js';
import { clusterAnalysisId } from '../core/contracts/analysis-id.js';
import { badInput, errorKind, errorMessage, transient } from '../core/contracts/errors.js';
import { binningProblems } from '../core/histogram.js';
import { insidePrefix } from '../core/sample-path.js';
import { builtInReleases } from './api/releases.js';
import type { HZZAnalysis, ResolvedSpec } from './api/v1alpha1.js';
import type { PlanContent } from './plan-store.js';

/**
 * Turning a spec into a plan: the catalogue (a built-in release, its samples optionally replaced
 * inline), the selection, and where the files are, then core's planAnalysis, which reads only each
 * file's header. Problems with the spec itself come back as a failed plan (kept, not retried);
 * a transient failure (a server not answering) is thrown, so the work queue tries again later.
 *
 * A PVC source is read where the operator has that PVC mounted (`--data-pvc NAME=DIR`), and the
 * worker pods mount it at the same DIR, so the file paths in the plan are valid in both places.
 */
export type DataPvcs = ReadonlyMap<string, string>;

/**
 * Where spec.source.urlPrefix may point (`--allowed-url-prefix`, chart value
 * operator.allowedUrlPrefixes): the operator fetches from it, from inside the cluster, so without a
 * list any analysis author could have it request any address its network reaches (the API server,
 * a cloud's metadata service). By default the hosts of the built-in releases' official servers.
 */
export const OFFICIAL_URL_PREFIXES: readonly string[] = [...new Set([...builtInReleases().values()].map((c) => `${new URL(c.urlPrefix).origin}/`))];

export async function makePlan(analysis: HZZAnalysis, spec: ResolvedSpec, generation: number, dataPvcs: DataPvcs, allowedUrlPrefixes: readonly string[] = OFFICIAL_URL_PREFIXES): Promise<PlanContent> {
  const id = clusterAnalysisId(analysis, generation, spec.output);
  let request: PlanRequest;
  let planned: PlanResult;
  try {
    request = planRequest(id, spec, dataPvcs, allowedUrlPrefixes);
    // Bad input found while planning (a sample's weight out of range, say) fails the plan too.
    planned = await planAnalysis(request);
  } catch (err) {
    if (errorKind(err) === 'bad-input') return { error: errorMessage(err) };
    throw err;
  }
  const { plan, failures } = planned;
  const retryable = failures.filter((f) => errorKind(f.error) !== 'bad-input');
  if (retryable.length > 0) throw transient(`plan ${id}`, retryable.map(describeFailure).join('; '));
  if (failures.length > 0) return { error: failures.map(describeFailure).join('; ') };
  const { tree, energyUnit } = request.catalogue;
  const { definition } = request;
  const pvc = spec.source?.pvc;
  const volume = pvc === undefined ? {} : { volume: { pvc, mountPath: dataPvcs.get(pvc)! } };
  return { plan, recipe: { tree, energyUnit, definition, ...volume } };
}

function planRequest(id: string, spec: ResolvedSpec, dataPvcs: DataPvcs, allowedUrlPrefixes: readonly string[]): PlanRequest {
  const release = builtInReleases().get(spec.release);
  if (!release) throw badInput('spec.release', `'${spec.release}' is not a built-in release (${[...builtInReleases().keys()].join(', ')})`);
  const catalogue = spec.catalogue ? parseCatalogue({ ...release, samples: spec.catalogue.samples }, 'spec.catalogue') : release;
  const problems = spec.binning ? binningProblems(spec.binning) : [];
  if (problems.length > 0) throw badInput('spec.binning', problems.join('; '));
  // An inline definition is checked whole here, as a file given to hzz run is: a formula the API
  // server could not parse fails the plan, naming it, before any file is opened.
  const definition = spec.analysisDefinition
    ? parseDefinition(spec.analysisDefinition, 'spec.analysisDefinition').definition
    : loadDefinition(spec.analysis ?? catalogue.release).definition;
  return {
    analysis: id, catalogue, samples: selectSamples(catalogue, spec.samples), source: sourceOf(spec, catalogue, dataPvcs, allowedUrlPrefixes),
    lumi: spec.lumi, definition: withPlotBinning(definition, spec.binning), chunkSize: spec.chunkSize,
  };
}

function sourceOf(spec: ResolvedSpec, catalogue: Catalogue, dataPvcs: DataPvcs, allowedUrlPrefixes: readonly string[]): string {
  const source = spec.source;
  if (source?.urlPrefix) {
    const url = source.urlPrefix;
    if (!URL.canParse(url) || !allowedUrlPrefixes.some((p) => insidePrefix(p, url))) {
      throw badInput(`spec.source.urlPrefix '${url}'`, `is not allowed: this operator reads only from ${allowedUrlPrefixes.join(', ') || 'no URL'} (operator flag --allowed-url-prefix, chart value operator.allowedUrlPrefixes)`);
    }
    return url;
  }
  if (!source?.pvc) return catalogue.urlPrefix;
  const dir = dataPvcs.get(source.pvc);
  if (dir === undefined) {
    const known = [...dataPvcs.keys()].join(', ') || 'none';
    throw badInput(`spec.source.pvc '${source.pvc}'`, `is not mounted in the operator (start it with --data-pvc ${source.pvc}=DIR; mounted: ${known})`);
  }
  const folder = join(dir, source.path ?? '');
  const inside = relative(dir, folder);
  if (inside.startsWith('..') || isAbsolute(inside)) throw badInput('spec.source.path', `'${source.path}' leads outside the volume`);
  return folder;
}
