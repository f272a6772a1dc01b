import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Sample } from './catalogue.js';
import { badInput } from './contracts/errors.js';
import { checkSamplePath, insideFolder, insidePrefix } from './sample-path.js';

/**
 * Where a sample's file is, given a source: an http(s) URL prefix (the catalogue's official one by
 * default), or a local folder, which may mirror the server's layout (Data/, MC/) or hold the files
 * side by side, as a download of a few files usually does. Either way the file is inside the source
 * (sample-path.ts), checked here too, where the path becomes a place.
 */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export function locateSample(source: string, sample: Sample): string {
  checkSamplePath(sample);
  const outside = () => badInput(`sample '${sample.name}' path '${sample.path}'`, 'leads outside its data source');
  if (isUrl(source)) {
    const prefix = source.replace(/\/*$/, '/');
    const url = prefix + sample.path;
    if (!insidePrefix(prefix, url)) throw outside();
    return url;
  }
  const tried = [join(source, sample.path), join(source, basename(sample.path))];
  const found = tried.find((p) => existsSync(p));
  if (!found) throw badInput(`sample '${sample.name}'`, `no file at ${tried.join(' or ')}`);
  if (!insideFolder(source, found)) throw outside();
  return resolve(found);
}
