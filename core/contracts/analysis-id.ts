import { join } from 'node:path';

/**
 * The analysis id names one run of the analysis everywhere: in every task and partial, at the
 * plotter, and as the run's folder under the output root. It is built and checked here only.
 *
 * In the cluster it is `[<output>/]<namespace>/<name>/g<generation>-<uid8>`, uid8 the first 8 hex
 * digits of the resource's metadata.uid. They tell apart an analysis deleted and created again under
 * its name, whose generations restart at 1: without them the plotter would refuse the new plan as a
 * conflicting copy of the old one, and take the new run's chunks for ones it already holds.
 * `hzz run` uses `local/<timestamp>`.
 *
 * An id is also a path, so it must not climb out of the root or hide somewhere odd. Each segment
 * starts with a letter or digit, which rules out `.`, `..` and hidden names; there is no leading
 * slash, no backslash, no empty segment. `partials` is the one reserved name, because it is the
 * folder that holds an analysis's chunks.
 */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const MAX_SEGMENTS = 8;

/** The id of an HZZAnalysis resource's plan for `generation`. */
export function clusterAnalysisId(analysis: { metadata: { namespace: string; name: string; uid: string } }, generation: number, output?: string): string {
  const { namespace, name, uid } = analysis.metadata;
  return [output, namespace, name, `g${generation}-${uid.replace(/-/g, '').slice(0, 8)}`].filter(Boolean).join('/');
}

/** The id of an `hzz run` started at `startedAt`. */
export function localAnalysisId(startedAt: Date): string {
  return `local/${startedAt.toISOString().replace(/[:.]/g, '-')}`;
}

export function analysisIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'analysis id is empty';
  if (id.length > 512) return 'analysis id is longer than 512 characters';
  if (id.startsWith('/')) return `analysis id '${id}' is an absolute path`;
  const segments = id.split('/');
  if (segments.length > MAX_SEGMENTS) return `analysis id '${id}' has more than ${MAX_SEGMENTS} segments`;
  for (const s of segments) {
    if (s === '..' || s === '.') return `analysis id '${id}' contains '${s}'`;
    if (!SEGMENT.test(s)) return `analysis id '${id}': segment '${s}' must start with a letter or digit and hold only letters, digits, '.', '_' and '-'`;
    if (s === 'partials') return `analysis id '${id}': 'partials' is reserved for chunk files`;
  }
  return undefined;
}

/** The analysis's folder under the output root; throws for an id that is not a safe path. */
export function analysisDir(out: string, id: string): string {
  const problem = analysisIdProblem(id);
  if (problem) throw new Error(problem);
  return join(out, ...id.split('/'));
}
