import type { Backoff } from '../core/util/backoff.js';
import { silentLog, type Log } from '../core/util/log.js';
import type { BrokerAddress } from './broker-address.js';
import { BrokerConnection } from './connection.js';
import { ConfirmPublisher } from './publisher.js';
import { declareTopologyOn } from './topology.js';

/**
 * A publishing session: one connection that declares the topology on every connect (so a message
 * is routable even if no plotter has started yet) and a confirm publisher over it. A worker process
 * opens one for its single chunk, `hzz run --broker` shares one among many, and the operator keeps
 * one for its plans.
 */
export interface PublishSession {
  connection: BrokerConnection;
  publisher: ConfirmPublisher;
  close(): Promise<void>;
}

export async function openPublishSession(address: BrokerAddress, opts: { name: string; retry: Backoff; log?: Log }): Promise<PublishSession> {
  const connection = new BrokerConnection({ address, name: opts.name, retry: opts.retry, log: opts.log ?? silentLog });
  await connection.addSetup(declareTopologyOn);
  const publisher = new ConfirmPublisher(connection, opts.retry);
  return { connection, publisher, close: () => connection.close() };
}
