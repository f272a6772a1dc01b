import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Sample } from './catalogue.js';
import { badInput } from './contracts/errors.js';

/**
 * Where a sample's file is, given a source: an http(s) URL prefix (the catalogue's official one by
 * default), or a local folder, which may mirror the server's layout (Data/, MC/) or hold the files
 * side by side, as a download of a few files usually does.
 */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export function locateSample(source: string, sample: Sample): string {
  if (isUrl(source)) return source.replace(/\/*$/, '/') + sample.path.replace(/^\/+/, '');
  const tried = [join(source, sample.path), join(source, basename(sample.path))];
  const found = tried.find((p) => existsSync(p));
  if (!found) throw badInput(`sample '${sample.name}'`, `no file at ${tried.join(' or ')}`);
  return resolve(found);
}
