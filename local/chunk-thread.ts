import { parentPort } from 'node:worker_threads';
import { analyzeChunk } from '../core/analyze-chunk.js';
import { errorKind, errorMessage } from '../core/errors.js';
import type { Task } from '../core/messages.js';
import type { ThreadReply, ThreadRequest } from './thread-pool.js';

// One analysis thread of a local run: chunks in, histograms out. It keeps its opened files between
// chunks (RootTree.openCached), which is why chunks of one file are sent to one thread in a row.
parentPort!.on('message', (req: ThreadRequest) => {
  analyzeChunk(req.task as Task).then(
    (histogram): void => parentPort!.postMessage({ id: req.id, histogram } satisfies ThreadReply),
    (err: unknown): void => parentPort!.postMessage({ id: req.id, error: { kind: errorKind(err), message: errorMessage(err) } } satisfies ThreadReply),
  );
});
