import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_CATALOGUE, loadCatalogue, type Catalogue } from '../../core/catalogue.js';

/**
 * The built-in releases: every catalogue shipped in `catalogues/`, by release name. The CRD's enums
 * and validation rules are generated from them, so a new catalogue file is a new accepted
 * `spec.release` after `gen:crd`, and the staleness test says when that step was forgotten.
 */
const CATALOGUE_DIR = dirname(DEFAULT_CATALOGUE);

/** The release of the default catalogue, which `hzz run` uses too. */
export function defaultRelease(): string {
  return loadCatalogue(DEFAULT_CATALOGUE).release;
}

let cached: ReadonlyMap<string, Catalogue> | undefined;

export function builtInReleases(): ReadonlyMap<string, Catalogue> {
  cached ??= new Map(
    readdirSync(CATALOGUE_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => loadCatalogue(join(CATALOGUE_DIR, f)))
      .map((c) => [c.release, c] as const),
  );
  return cached;
}
