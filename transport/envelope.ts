import { PartialHistogramSchema, type PartialHistogram, type Plan } from '../core/contracts/messages.js';
import type { PublishOptions } from './publisher.js';
import { EXCHANGES, HEADERS, ROUTING, type RoutingKey, type Topology } from './topology.js';

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

export function partialEnvelope(p: PartialHistogram, exchanges: Topology['exchanges'] = EXCHANGES): Envelope {
  return { exchange: exchanges.partial, routingKey: ROUTING.partial, body: Buffer.from(JSON.stringify(p)), options: partialProperties(p.analysis, p.chunk.index) };
}

/** A partial's properties: also those of the dead letter of one the plotter stored (an orphan) and refused later. */
export function partialProperties(analysis: string, chunk: number): PublishOptions & { headers: Record<string, unknown> } {
  return {
    type: PartialHistogramSchema.properties.schema.const,
    messageId: `${analysis}#c${chunk}`,
    headers: { [HEADERS.analysis]: analysis, [HEADERS.chunk]: chunk },
  };
}

export function planEnvelope(plan: Plan, exchanges: Topology['exchanges'] = EXCHANGES): Envelope {
  return {
    exchange: exchanges.plan,
    routingKey: ROUTING.plan,
    body: Buffer.from(JSON.stringify(plan)),
    options: { type: plan.schema, messageId: `${plan.analysis}#plan`, headers: { [HEADERS.analysis]: plan.analysis } },
  };
}
