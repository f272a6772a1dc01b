import type { Delivery } from './consumer.js';
import type { ConfirmPublisher } from './publisher.js';
import { HEADERS, ROUTING, type Topology } from './topology.js';

/**
 * Moves a message we cannot use to its dead-letter queue, with the reason in a header. A plain
 * basic.reject would dead-letter it too (the queues have x-dead-letter-exchange), but AMQP cannot add
 * a header on reject, and a dead message without its reason is a puzzle for whoever finds it. So we
 * republish a copy (confirmed) and only then ack the original; a crash in between leaves the
 * original to be redelivered and dead-lettered again, a harmless duplicate in the dead queue.
 */
const MAX_REASON = 1000;

/** A message to dead-letter: one being delivered, or one the plotter took and stored earlier (an orphan partial). */
export interface DeadMessage {
  /** The queue it came from. */
  queue: string;
  body: Buffer;
  properties: { headers?: Record<string, unknown> | undefined; messageId?: unknown; type?: unknown };
}

export async function deadLetter(publisher: ConfirmPublisher, t: Topology, d: Delivery, reason: string): Promise<boolean> {
  await publishDeadLetter(publisher, t, { queue: d.queue, body: d.body, properties: d.message.properties }, reason);
  return d.ack();
}

/** Publishes the copy with its reason (confirmed); the original is the caller's to settle. */
export async function publishDeadLetter(publisher: ConfirmPublisher, t: Topology, m: DeadMessage, reason: string): Promise<void> {
  const routingKey = m.queue === t.queues.plans ? ROUTING.plan : ROUTING.partial;
  const original = m.properties;
  await publisher.publish(t.exchanges.dead, routingKey, m.body, {
    headers: {
      ...(original.headers ?? {}),
      [HEADERS.reason]: reason.length > MAX_REASON ? reason.slice(0, MAX_REASON - 1) + '…' : reason,
      [HEADERS.rejectedFrom]: m.queue,
      [HEADERS.rejectedAt]: new Date().toISOString(),
    },
    ...(original.messageId ? { messageId: String(original.messageId) } : {}),
    ...(original.type ? { type: String(original.type) } : {}),
  });
}
