import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** writeAtomic's temporary file names: what a crash between writing and renaming leaves behind. */
export const ATOMIC_WRITE_TEMP = /^\.\d+\.\w+\.tmp$/;

/** Writes through a temporary file and a rename, so readers never see a half-written file. */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    // A full disk fails the write halfway: what it wrote is no use, and retries must not pile up.
    rmSync(tmp, { force: true });
    throw err;
  }
}
