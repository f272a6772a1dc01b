#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { plotterMain } from './plotter-process.js';

// `node dist/plotter/main.js --out DIR [--port 8080] [--host 0.0.0.0] [--prefetch 16]
// [--orphan-budget-mib 64] [--orphan-ttl-seconds 3600]`: the plotter
// without the CLI, for a slim image and for tests that kill it with SIGKILL.
const { values } = parseArgs({
  options: {
    out: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, prefetch: { type: 'string' },
    'orphan-budget-mib': { type: 'string' }, 'orphan-ttl-seconds': { type: 'string' },
  },
  strict: true,
});
const out = values.out ?? process.env.HZZ_PLOTTER_OUT;
if (!out) {
  process.stderr.write('usage: main.js --out DIR [--port N] [--host ADDR] [--prefetch N]  (broker from HZZ_AMQP_URL or HZZ_AMQP_HOST/...)\n');
  process.exit(64);
}
await plotterMain({
  out,
  port: Number(values.port ?? process.env.HZZ_PLOTTER_PORT ?? 8080),
  host: values.host,
  prefetch: values.prefetch ? Number(values.prefetch) : undefined,
  orphans: { budgetMiB: values['orphan-budget-mib'], ttlSeconds: values['orphan-ttl-seconds'] },
});
