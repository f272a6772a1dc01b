import type { PartialHistogram, Plan } from '../core/contracts/messages.js';
import type { PublishOptions } from './publisher.js';
import { EXCHANGES, HEADERS, ROUTING, type RoutingKey } from './topology.js';

/**
 * How our documents travel: JSON bodies, their schema name as the AMQP `type`, and a few headers
 * that let a person reading a queue (or the dead-letter queue) see what a message is about without
 * parsing the body. The body stays the source of truth; receivers never trust the headers.
 */
export interface Envelope {
  exchange: string;
  routingKey: RoutingKey;
  body: Buffer;
  options: PublishOptions;
}

export function partialEnvelope(p: PartialHistogram): Envelope {
  return {
    exchange: EXCHANGES.partial,
    routingKey: ROUTING.partial,
    body: Buffer.from(JSON.stringify(p)),
    options: {
      type: p.schema,
      messageId: `${p.analysis}#c${p.chunk.index}`,
      headers: { [HEADERS.analysis]: p.analysis, [HEADERS.chunk]: p.chunk.index },
    },
  };
}

export function planEnvelope(plan: Plan): Envelope {
  return {
    exchange: EXCHANGES.plan,
    routingKey: ROUTING.plan,
    body: Buffer.from(JSON.stringify(plan)),
    options: { type: plan.schema, messageId: `${plan.analysis}#plan`, headers: { [HEADERS.analysis]: plan.analysis } },
  };
}
