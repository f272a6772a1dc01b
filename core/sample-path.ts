import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import type { Sample } from './catalogue.js';
import { badInput } from './contracts/errors.js';

/**
 * A sample's `path` names a file inside its source (a data folder, a PVC, a URL prefix), never a
 * way out of it: whoever writes a catalogue (an inline spec.catalogue included) must not reach
 * /etc/passwd or another namespace's volume through it. Relative, without `..` segments (nor their
 * URL-encoded form, which URL parsers resolve as `..`), and without a drive or backslash root.
 */
export function samplePathProblem(path: string): string | undefined {
  if (path === '') return 'is empty';
  if (isAbsolute(path) || /^[a-z]:/i.test(path) || path.startsWith('\\')) return 'is absolute: a sample path is relative to its data source';
  if (path.includes('\0')) return 'holds a NUL byte';
  if (path.split(/[\\/]/).some((seg) => seg.replace(/%2e/gi, '.') === '..')) return "has a '..' segment: a sample path stays inside its data source";
  return undefined;
}

export function checkSamplePath(sample: Pick<Sample, 'name' | 'path'>): void {
  const problem = samplePathProblem(sample.path);
  if (problem) throw badInput(`sample '${sample.name}' path '${sample.path}'`, problem);
}

/**
 * Whether `file`, found for a sample in the folder `source`, lies inside it once symlinked folders
 * are resolved. The file itself may be a link: a data folder's owner links files in (as
 * scripts/make_root_files.py does for the shared files), a catalogue cannot.
 */
export function insideFolder(source: string, file: string): boolean {
  const inside = relative(realpathSync(source), realpathSync(dirname(file)));
  return inside === '' || !(inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside));
}

/** Whether `url` (a prefix and a sample path joined) still starts with the prefix once parsed. */
export function insidePrefix(prefix: string, url: string): boolean {
  return new URL(url).href.startsWith(new URL(prefix).href);
}
