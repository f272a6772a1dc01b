import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { analysisDir, analysisIdProblem } from '../core/contracts/analysis-id.js';
import { errorMessage } from '../core/contracts/errors.js';
import type { PartialHistogram, Plan } from '../core/contracts/messages.js';
import { ATOMIC_WRITE_TEMP, writeAtomic } from '../core/util/write-atomic.js';
import { parsePartial, parsePlan, partialMismatch } from './message-checks.js';

/**
 * The plotter's output folder is its whole memory: a plan, one file per chunk, the drawn outputs and
 * a status, per analysis. A chunk's file is named by its index, so a duplicate or redelivered
 * partial overwrites its twin instead of adding to the count; every write is atomic, so a crash
 * leaves either the old file or the new one, and start-up can rebuild everything from here.
 *
 *   <out>/<namespace>/<name>/g<generation>/plan.json
 *                                          partials/c<index>.json
 *                                          hzz_m4l.png histograms.json histograms.csv status.json
 */
export const PLAN_FILE = 'plan.json';
export const STATUS_FILE = 'status.json';
export const PARTIALS_DIR = 'partials';

export const partialFile = (dir: string, index: number): string => join(dir, PARTIALS_DIR, `c${index}.json`);

export function storePlan(out: string, plan: Plan): void {
  writeAtomic(join(analysisDir(out, plan.analysis), PLAN_FILE), JSON.stringify(plan, null, 1) + '\n');
}

/** A partial as it came (checked already): so a dead letter of it, later, is the body byte for byte. */
export function storePartial(out: string, p: PartialHistogram, body: Uint8Array): string {
  const file = partialFile(analysisDir(out, p.analysis), p.chunk.index);
  writeAtomic(file, body);
  return file;
}

export function storeStatus(dir: string, status: unknown): void {
  writeAtomic(join(dir, STATUS_FILE), JSON.stringify(status, null, 1) + '\n');
}

function readStatus(dir: string): unknown {
  try {
    return JSON.parse(readFileSync(join(dir, STATUS_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

export interface StoredOrphan { chunk: number; file: string; bytes: number; storedAt: number }

export interface StoredAnalysis {
  id: string;
  dir: string;
  plan?: Plan;
  partials: PartialHistogram[];
  /** Without a plan: its chunk files, not read (orphans.ts), their age from their mtime. */
  orphans: StoredOrphan[];
  /** status.json as last written, when it parses. */
  status?: unknown;
  /**
   * Complete when last drawn (its status says so, and a file is there for every chunk): its
   * partials are not read (partials stays empty) until someone asks for its results.
   */
  complete?: true;
}

/**
 * Every analysis under the output root. A file that does not parse, or disagrees with where it lies,
 * is reported and skipped: it cannot have been written by us, and one bad file must not stop the
 * plotter from serving the rest. The temporary files of writes a crash interrupted are removed.
 */
export function scanOutputRoot(out: string, warn: Warn): StoredAnalysis[] {
  const found: StoredAnalysis[] = [];
  if (!existsSync(out)) return found;
  const visit = (dir: string, depth: number): void => {
    const names = readdirSync(dir);
    const id = relative(out, dir).split(sep).join('/');
    if (depth > 0 && (names.includes(PLAN_FILE) || names.includes(PARTIALS_DIR)) && !analysisIdProblem(id)) {
      found.push(loadAnalysis(id, dir, names, warn));
    }
    if (depth >= 8) return;
    for (const n of names) {
      if (n === PARTIALS_DIR || n.startsWith('.')) continue;
      const sub = join(dir, n);
      if (statSync(sub).isDirectory()) visit(sub, depth + 1);
    }
  };
  visit(out, 0);
  return found;
}

function loadAnalysis(id: string, dir: string, names: string[], warn: Warn): StoredAnalysis {
  const pdir = join(dir, PARTIALS_DIR);
  const partialNames = listDir(pdir);
  removeInterruptedWrites([...names.map((n) => join(dir, n)), ...partialNames.map((n) => join(pdir, n))], warn);
  const a: StoredAnalysis = { id, dir, partials: [], orphans: [], status: readStatus(dir) };
  if (names.includes(PLAN_FILE)) {
    const file = join(dir, PLAN_FILE);
    const plan = readChecked(file, parsePlan, warn);
    if (plan && plan.analysis !== id) warn('stored plan names another analysis; skipped', { file, analysis: plan.analysis });
    else if (plan) a.plan = plan;
  }
  const files = partialFiles(pdir, partialNames);
  if (!a.plan) {
    a.orphans = [...files].map(([chunk, file]) => { const st = statSync(file); return { chunk, file, bytes: st.size, storedAt: st.mtimeMs }; });
    return a;
  }
  const status = a.status as { complete?: unknown; chunks?: { done?: unknown } } | undefined;
  if (a.plan && status?.complete === true && status.chunks?.done === a.plan.chunks && a.plan.chunks > 0
    && Array.from({ length: a.plan.chunks }, (_, i) => files.has(i)).every(Boolean)) {
    a.complete = true;
    return a;
  }
  a.partials = loadPartials(id, dir, a.plan, warn, files);
  return a;
}

type Warn = (msg: string, fields: Record<string, unknown>) => void;

const listDir = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

/** The chunk files of an analysis, by chunk index. */
function partialFiles(pdir: string, names: readonly string[] = listDir(pdir)): Map<number, string> {
  const files = new Map<number, string>();
  for (const name of names) {
    const m = /^c(\d+)\.json$/.exec(name);
    if (m) files.set(Number(m[1]), join(pdir, name));
  }
  return files;
}

/** An analysis's stored partials, read and checked, against its plan too (a folder from before orphans were judged may hold misfits). */
export function loadPartials(id: string, dir: string, plan: Plan, warn: Warn, files = partialFiles(join(dir, PARTIALS_DIR))): PartialHistogram[] {
  const partials: PartialHistogram[] = [];
  for (const [index, file] of files) {
    const p = readChecked(file, parsePartial, warn);
    if (!p) continue;
    const misfit = p.analysis !== id || p.chunk.index !== index ? 'it disagrees with its path' : partialMismatch(plan, p);
    if (misfit) warn('stored partial skipped, not counted', { file, reason: misfit });
    else partials.push(p);
  }
  return partials;
}

/** Removes, of the files given, writeAtomic's temporary files that a crash left behind. */
function removeInterruptedWrites(files: readonly string[], warn: Warn): void {
  for (const file of files.filter((f) => ATOMIC_WRITE_TEMP.test(basename(f)))) {
    try {
      rmSync(file, { force: true });
      warn('removed the leftover of an interrupted write', { file });
    } catch (err) {
      warn('cannot remove the leftover of an interrupted write', { file, error: errorMessage(err) });
    }
  }
}

function readChecked<T>(file: string, parse: (body: string) => { ok: true; value: T } | { ok: false; reason: string }, warn: Warn): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    warn('cannot read stored file; skipped', { file, error: errorMessage(err) });
    return undefined;
  }
  const r = parse(text);
  if (!r.ok) {
    warn('stored file is invalid; skipped', { file, reason: r.reason });
    return undefined;
  }
  return r.value;
}
