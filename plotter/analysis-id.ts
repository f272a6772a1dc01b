import { join } from 'node:path';

/**
 * Analysis ids (`default/higgs/g3` in the cluster, a run id locally) become nested folders under the
 * output root, so an id is also a path: it must not climb out of the root or hide somewhere odd.
 * Each segment starts with a letter or digit, which rules out `.`, `..` and hidden names; there is
 * no leading slash, no backslash, no empty segment. `partials` is the one reserved name, because
 * it is the folder that holds an analysis's chunks.
 */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const MAX_SEGMENTS = 8;

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
