#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ExitCode } from '../core/contracts/exit-codes.js';
import { workerMain } from './worker-process.js';

// `node dist/worker/main.js [--task FILE]`: the worker without the CLI, for a slim container image
// and for tests that need a real process and its real exit status.
let taskFile: string | undefined;
try {
  taskFile = parseArgs({ options: { task: { type: 'string' } }, strict: true }).values.task;
} catch (err) {
  process.stderr.write(`${(err as Error).message}\nusage: main.js [--task FILE]  (or HZZ_TASK=<task JSON>)\n`);
  process.exit(ExitCode.BadInput);
}
// Not waiting for reads abandoned at their deadline (core/root/read-deadline.ts).
process.exit(await workerMain({ taskFile }));
