import type { Delivery } from './consumer.js';
import type { ConfirmPublisher } from './publisher.js';
import { DEAD_LETTER_EXCHANGE, HEADERS, QUEUES, ROUTING } from './topology.js';

/**
 * Moves a message we cannot use to its dead-letter queue, with the reason in a header. A plain
 * basic.reject would dead-letter it too (the queues have x-dead-letter-exchange), but AMQP cannot add
 * a header on reject, and a dead message without its reason is a puzzle for whoever finds it. So we
 * republish a copy (confirmed) and only then ack the original; a crash in between leaves the
 * original to be redelivered and dead-lettered again, a harmless duplicate in the dead queue.
 */
const MAX_REASON = 1000;

export async function deadLetter(publisher: ConfirmPublisher, d: Delivery, reason: string): Promise<boolean> {
  const routingKey = d.queue === QUEUES.plans ? ROUTING.plan : ROUTING.partial;
  const original = d.message.properties;
  await publisher.publish(DEAD_LETTER_EXCHANGE, routingKey, d.body, {
    headers: {
      ...(original.headers ?? {}),
      [HEADERS.reason]: reason.length > MAX_REASON ? reason.slice(0, MAX_REASON - 1) + '…' : reason,
      [HEADERS.rejectedFrom]: d.queue,
      [HEADERS.rejectedAt]: new Date().toISOString(),
    },
    ...(original.messageId ? { messageId: String(original.messageId) } : {}),
    ...(original.type ? { type: String(original.type) } : {}),
  });
  return d.ack();
}
