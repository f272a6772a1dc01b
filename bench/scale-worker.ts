import { errorMessage } from '../core/contracts/errors.js';
import { describeExitCode, exitCodeFor } from '../core/contracts/exit-codes.js';
import { runWorker } from '../worker/run-worker.js';
import { readTask } from '../worker/task-input.js';

/**
 * One process of the scale benchmark's worker pool (bench/scale-pool.ts): takes a pod's env over
 * IPC, runs the worker's code for it exactly as `hzz worker` would, one pod at a time as a pod's
 * own process does, and answers with the exit code and the termination message.
 */
export interface PodRequest { id: number; env: Record<string, string> }
export interface PodReply { id: number; code: number; message: string }

async function runPod(env: Record<string, string>): Promise<{ code: number; message: string }> {
  try {
    const outcome = await runWorker(readTask({ env }), env);
    return { code: outcome.code, message: `${describeExitCode(outcome.code)}: ${outcome.message}` };
  } catch (err) {
    const code = exitCodeFor(err);
    return { code, message: `${describeExitCode(code)}: ${errorMessage(err)}` };
  }
}

process.on('message', (req: PodRequest) => {
  void runPod(req.env).then((outcome) => process.send!({ id: req.id, ...outcome } satisfies PodReply));
});
