import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(new URL('../../', import.meta.url)));
export const SHARED = process.env.HZZ_TEST_DATA ?? resolve(REPO, '../shared/data');
/** HZZ_BENCH_ENTRIES sets the large input's size. */
export const LARGE_ENTRIES = Number(process.env.HZZ_BENCH_ENTRIES ?? 10_000_000);
export const LARGE_FILE = 'mc_363490.llll.4lep.root';

/**
 * The benchmark's large input, a folder holding LARGE_FILE: the real MC events repeated, written by
 * uproot in baskets of 20,000 entries (about 330 KB per lepton branch, the size ROOT's basket
 * optimisation gives a tree of this width). Made once per checkout in .cache/ (outside git);
 * written aside and renamed, so that a test and the bench started together never read half of it.
 */
export function largeInput(entries = LARGE_ENTRIES): string {
  const dir = join(REPO, `.cache/bench/large-${entries}-b20000`);
  if (existsSync(join(dir, LARGE_FILE))) return dir;
  mkdirSync(join(REPO, '.cache/bench'), { recursive: true });
  const made = mkdtempSync(`${dir}.`);
  process.stderr.write(`bench: writing ${entries.toLocaleString('en-US')} entries with uproot…\n`);
  execFileSync('python3', [join(REPO, 'scripts/make_root_files.py'), '--data', SHARED, '--out', made, '--large-entries', String(entries), '--basket-entries', '20000'], { stdio: ['ignore', 'inherit', 'inherit'] });
  renameSync(join(made, 'large.4lep.root'), join(made, LARGE_FILE));
  // An earlier run that died half-way may have left the folder without the file.
  if (existsSync(join(dir, LARGE_FILE))) rmSync(made, { recursive: true, force: true });
  else {
    rmSync(dir, { recursive: true, force: true });
    renameSync(made, dir);
  }
  return dir;
}
