import { analyzeChunk } from '../core/analyze-chunk.js';
import { errorKind, errorMessage } from '../core/contracts/errors.js';
import type { Task } from '../core/contracts/messages.js';
import type { PoolReply, PoolRequest } from './process-pool.js';

// One analysis process of a local run: chunks in, histograms out. It keeps its opened files between
// chunks (RootTree.openCached), which is why chunks of one file are sent to one process in a row.
// The pool sends the next chunk before this one is done: chunks are analysed one after the other.
let last = Promise.resolve();
process.on('message', (req: PoolRequest) => {
  last = last.then(() => analyzeChunk(req.task as Task).then(
    (histogram): void => void process.send!({ id: req.id, histogram } satisfies PoolReply),
    (err: unknown): void => void process.send!({ id: req.id, error: { kind: errorKind(err), message: errorMessage(err) } } satisfies PoolReply),
  ));
});
// The parent going away (even by SIGKILL) closes the channel: nothing is left to work for.
process.on('disconnect', () => process.exit(0));
