import { jsonLog } from '../core/util/log.js';
import { brokerFromEnv } from '../transport/broker-address.js';
import { orphanLimitsFrom } from './orphans.js';
import { startPlotter, type Plotter, type PlotterOptions } from './plotter.js';

/**
 * The plotter as a long-running process (`hzz plotter`, `node dist/plotter/main.js`): broker from
 * the environment, logs on stderr, a graceful stop on SIGTERM (Kubernetes) or SIGINT (a terminal).
 */
export interface PlotterProcessOptions {
  out: string;
  port: number;
  host?: string | undefined;
  prefetch?: number | undefined;
  /** --orphan-budget-mib and --orphan-ttl-seconds, when given (else HZZ_PLOTTER_ORPHAN_BUDGET_MIB, HZZ_PLOTTER_ORPHAN_TTL_SECONDS). */
  orphans?: { budgetMiB?: string | number | undefined; ttlSeconds?: string | number | undefined };
  /** Only test/support/faulty-plotter.ts sets these. */
  faults?: PlotterOptions['faults'];
}

export async function plotterMain(opts: PlotterProcessOptions, env: NodeJS.ProcessEnv = process.env): Promise<Plotter> {
  const log = jsonLog('plotter');
  const plotter = await startPlotter({
    out: opts.out,
    broker: brokerFromEnv(env),
    port: opts.port,
    host: opts.host,
    prefetch: opts.prefetch,
    orphanLimits: orphanLimitsFrom(opts.orphans ?? {}, env),
    log,
    ...(opts.faults ? { faults: opts.faults } : {}),
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log('stopping', { signal });
    plotter.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return plotter;
}
