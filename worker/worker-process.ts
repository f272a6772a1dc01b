import { existsSync, writeFileSync } from 'node:fs';
import { errorMessage } from '../core/contracts/errors.js';
import { describeExitCode, exitCodeFor, type ExitCode } from '../core/contracts/exit-codes.js';
import { jsonLog } from '../core/util/log.js';
import { runWorker } from './run-worker.js';
import { readTask } from './task-input.js';

/**
 * The worker as a process, whichever way it is started (`hzz worker`, `node dist/worker/main.js`):
 * task from `--task FILE` or HZZ_TASK, logs on stderr, the outcome as exit status
 * (exit-codes.ts) and, in a pod, as the termination message.
 */
export async function workerMain(opts: { taskFile?: string | undefined }, env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  const log = jsonLog('worker');
  let outcome: { code: ExitCode; message: string };
  try {
    const task = readTask({ file: opts.taskFile, env });
    outcome = await runWorker(task, env, { log });
  } catch (err) {
    outcome = { code: exitCodeFor(err), message: errorMessage(err) };
    log('failed', { code: outcome.code, error: outcome.message });
  }
  writeTerminationMessage(env, `${describeExitCode(outcome.code)}: ${outcome.message}`);
  return outcome.code;
}

/** Kubernetes shows this file's text as the container's termination message (the operator reads it). */
function writeTerminationMessage(env: NodeJS.ProcessEnv, text: string): void {
  const path = env.HZZ_TERMINATION_LOG ?? '/dev/termination-log';
  // Only where the kubelet has created the file: never litter a developer's machine.
  if (!existsSync(path)) return;
  try {
    writeFileSync(path, text.slice(0, 4000));
  } catch {
    // A message we cannot leave is no reason to change the exit code.
  }
}
