import type { Backoff } from '../core/util/backoff.js';
import { silentLog, type Log } from '../core/util/log.js';
import type { BrokerAddress } from './broker-address.js';
import { BrokerConnection } from './connection.js';
import { ConfirmPublisher } from './publisher.js';

/**
 * A publishing session: one connection and a confirm publisher over it. It declares nothing (the
 * plotter owns the topology, transport/topology.ts), so it works with a user that may only write
 * to one exchange. A worker process
 * opens one for its single chunk, `hzz run --broker` shares one among many, and the operator keeps
 * one for its plans.
 */
export interface PublishSession {
  connection: BrokerConnection;
  publisher: ConfirmPublisher;
  close(): Promise<void>;
}

export function openPublishSession(address: BrokerAddress, opts: { name: string; retry: Backoff; log?: Log }): PublishSession {
  const connection = new BrokerConnection({ address, name: opts.name, retry: opts.retry, log: opts.log ?? silentLog });
  const publisher = new ConfirmPublisher(connection, opts.retry);
  return { connection, publisher, close: () => connection.close() };
}
