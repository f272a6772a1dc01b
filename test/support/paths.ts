import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where tests find things: the repo (tests run from dist/test/...) and the shared real files beside it. */
export const REPO = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
export const SHARED_DATA = process.env.HZZ_TEST_DATA ?? resolve(REPO, '../shared/data');
export const CLI = join(REPO, 'dist/cli/hzz.js');
export const PYTHON = process.env.PYTHON ?? 'python3';

/** The 2020-release files of the shared folder, as (sample name, file) of the default catalogue. */
export const SHARED_2020_FILES = readdirSync(SHARED_DATA).filter((f) => /^(data_[A-D]|mc_\d+\.\w+)\.4lep\.root$/.test(f));

/**
 * A folder with the shared files plus uproot-written stand-ins for the samples too large to be here
 * (ZZ*, signal), so that every category of the catalogue can run. Made once per machine in
 * .cache/ (outside git) by scripts/make_root_files.py from the real events.
 */
export function fullCatalogueDir(): string {
  // Named for the stand-ins' version: those of older checkouts had no title marking them.
  const dir = join(REPO, '.cache/test-data/standins-titled');
  if (!existsSync(dir)) {
    // Written aside and renamed: test files that start together never see half of it.
    mkdirSync(join(REPO, '.cache/test-data'), { recursive: true });
    const made = mkdtempSync(`${dir}.`);
    execFileSync(PYTHON, [join(REPO, 'scripts/make_root_files.py'), '--data', SHARED_DATA, '--out', made, '--standins'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (!existsSync(dir)) renameSync(made, dir);
  }
  return dir;
}

/**
 * A folder with one ZZ* file of 40,000 real events (repeated) in baskets of 1,000 entries: many basket
 * boundaries for chunks to cross. Made once per machine in .cache/ by scripts/make_root_files.py.
 */
export function manyBasketsDir(): string {
  const dir = join(REPO, '.cache/test-data/many-baskets');
  const file = join(dir, 'mc_363490.llll.4lep.root');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    execFileSync(PYTHON, [join(REPO, 'scripts/make_root_files.py'), '--data', SHARED_DATA, '--out', dir, '--large-entries', '40000', '--basket-entries', '1000'], { stdio: 'inherit' });
    renameSync(join(dir, 'large.4lep.root'), file);
  }
  return dir;
}
