import { readFileSync } from 'node:fs';
import { badInput } from '../core/contracts/errors.js';
import type { Task } from '../core/contracts/messages.js';
import { TaskSchema } from '../core/contracts/messages.js';
import { checked } from '../core/schema-check.js';

/**
 * Where a worker's task comes from: a file (`--task FILE`, e.g. a mounted ConfigMap) or the
 * HZZ_TASK variable (the operator puts the task JSON into the Job's env). Every failure here is bad
 * input: the same task would fail the same way on a retry.
 */
export function readTask(source: { file?: string | undefined; env?: NodeJS.ProcessEnv }): Task {
  const env = source.env ?? process.env;
  let text: string;
  let what: string;
  if (source.file) {
    what = `task file ${source.file}`;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (err) {
      throw badInput(what, (err as Error).message, err);
    }
  } else if (env.HZZ_TASK) {
    what = 'HZZ_TASK';
    text = env.HZZ_TASK;
  } else {
    throw badInput('task', 'none given: pass --task FILE or set HZZ_TASK to the task JSON');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw badInput(what, `not JSON: ${(err as Error).message}`, err);
  }
  return checked(TaskSchema, raw, what);
}
