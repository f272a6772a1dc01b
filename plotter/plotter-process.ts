import { brokerFromEnv } from '../transport/broker-address.js';
import { jsonLog } from '../core/util/log.js';
import { startPlotter, type Plotter } from './plotter.js';

/**
 * The plotter as a long-running process (`hzz plotter`, `node dist/plotter/main.js`): broker from
 * the environment, logs on stderr, a graceful stop on SIGTERM (Kubernetes) or SIGINT (a terminal).
 * The two HZZ_TEST_* variables are fault-injection hooks for the pipeline tests.
 */
export interface PlotterProcessOptions {
  out: string;
  port: number;
  host?: string | undefined;
  prefetch?: number | undefined;
}

export async function plotterMain(opts: PlotterProcessOptions, env: NodeJS.ProcessEnv = process.env): Promise<Plotter> {
  const log = jsonLog('plotter');
  const delay = Number(env.HZZ_TEST_DELAY_MS ?? 0);
  const plotter = await startPlotter({
    out: opts.out,
    broker: brokerFromEnv(env),
    port: opts.port,
    host: opts.host,
    prefetch: opts.prefetch,
    log,
    test: { holdAcks: env.HZZ_TEST_HOLD_ACKS === '1', delayPerMessageMs: Number.isFinite(delay) ? delay : 0 },
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
