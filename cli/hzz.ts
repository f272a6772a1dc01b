#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { errorKind, errorMessage } from '../core/contracts/errors.js';
import { PACKAGE_VERSION } from '../core/version.js';
import { operatorCommand } from './commands/operator.js';
import { plotterCommand } from './commands/plotter.js';
import { runCommand } from './commands/run.js';
import { schemaCommand } from './commands/schema.js';
import { workerCommand } from './commands/worker.js';

/**
 * `hzz`: one binary, one subcommand per role; exit codes are listed in docs/contracts.md. Each
 * command loads its implementation only when it runs: loaded up front, the operator's Kubernetes
 * client alone took 0.35 s and 39 MiB of heap from every `hzz run`, whose garbage collections then
 * competed with its analysis processes for the cores.
 */
await yargs(hideBin(process.argv))
  .scriptName('hzz')
  .command(runCommand)
  .command(workerCommand)
  .command(plotterCommand)
  .command(schemaCommand)
  .command(operatorCommand)
  .demandCommand(1, 'name a command: run, worker, plotter, schema or operator')
  .strict()
  .fail((msg, err) => {
    // Usage mistakes and bad input exit 2 with one clear line; anything else is a crash (1).
    process.stderr.write(`hzz: ${err ? errorMessage(err) : msg}\n`);
    if (err && errorKind(err) === 'crash' && process.env.HZZ_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exit(!err || errorKind(err) === 'bad-input' ? 2 : 1);
  })
  .help()
  .version(PACKAGE_VERSION)
  .parseAsync();
