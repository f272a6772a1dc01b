import type { RetryPolicy } from '../transport/backoff.js';
import type { BrokerAddress } from '../transport/broker-address.js';
import { BrokerConnection } from '../transport/connection.js';
import { silentLog, type Log } from '../transport/log.js';
import { ConfirmPublisher } from '../transport/publisher.js';
import { declareTopologyOn } from '../transport/topology.js';

/**
 * A publishing session for workers: one connection that declares the topology on every connect
 * (so a partial is routable even if no plotter has started yet) and a confirm publisher over it.
 * A worker process opens one for its single chunk; the local runner shares one among many.
 */
export interface PublishSession {
  connection: BrokerConnection;
  publisher: ConfirmPublisher;
  close(): Promise<void>;
}

const DEFAULT_RETRY_SECONDS = 60;

/** The worker's patience with the broker, from HZZ_AMQP_RETRY_SECONDS (default 60). */
export function workerRetryPolicy(env: NodeJS.ProcessEnv = process.env): RetryPolicy {
  const text = env.HZZ_AMQP_RETRY_SECONDS;
  const seconds = text === undefined || text === '' ? DEFAULT_RETRY_SECONDS : Number(text);
  if (!(Number.isFinite(seconds) && seconds >= 0)) throw new Error(`HZZ_AMQP_RETRY_SECONDS must be a number of seconds (got '${text}')`);
  return { initialMs: 200, maxMs: 5_000, budgetMs: seconds * 1000 };
}

export async function openPublishSession(address: BrokerAddress, opts: { name: string; retry: RetryPolicy; log?: Log }): Promise<PublishSession> {
  const connection = new BrokerConnection({ address, name: opts.name, retry: opts.retry, log: opts.log ?? silentLog });
  await connection.addSetup(declareTopologyOn);
  const publisher = new ConfirmPublisher(connection, opts.retry);
  return { connection, publisher, close: () => connection.close() };
}
