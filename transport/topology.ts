import type { Channel } from 'amqplib';

/**
 * The broker objects every party declares on connect, with the same arguments each time, so that
 * whoever comes first creates them and the rest find them (a declaration with different arguments
 * would fail with PRECONDITION_FAILED, which is why they live in this one place).
 *
 *   exchange hzz (direct) ── "partial" ─▶ queue hzz.partials ─┐ dead-letter
 *                         └─ "plan" ────▶ queue hzz.plans ────┤ (x-dead-letter-exchange)
 *   exchange hzz.dead (direct) ◀──────────────────────────────┘
 *        ├─ "partial" ─▶ queue hzz.partials.dead
 *        └─ "plan" ────▶ queue hzz.plans.dead
 *
 * Plans have their own queue so that a plan never waits behind a backlog of partials.
 */
export const EXCHANGE = 'hzz';
export const DEAD_LETTER_EXCHANGE = 'hzz.dead';

export const ROUTING = { partial: 'partial', plan: 'plan' } as const;
export type RoutingKey = (typeof ROUTING)[keyof typeof ROUTING];

export const QUEUES = {
  partials: 'hzz.partials',
  plans: 'hzz.plans',
  partialsDead: 'hzz.partials.dead',
  plansDead: 'hzz.plans.dead',
} as const;

/** Headers our messages carry (docs/pipeline.md). */
export const HEADERS = {
  reason: 'x-hzz-reason',
  rejectedFrom: 'x-hzz-rejected-from',
  rejectedAt: 'x-hzz-rejected-at',
  analysis: 'x-hzz-analysis',
  chunk: 'x-hzz-chunk',
  /** A per-publish id, to tell which publish the broker returned as unroutable. */
  publishId: 'x-hzz-publish-id',
} as const;

export async function declareTopology(ch: Channel): Promise<void> {
  await ch.assertExchange(EXCHANGE, 'direct', { durable: true });
  await ch.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  const live = { durable: true, arguments: { 'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE } };
  await ch.assertQueue(QUEUES.partials, live);
  await ch.assertQueue(QUEUES.plans, live);
  await ch.assertQueue(QUEUES.partialsDead, { durable: true });
  await ch.assertQueue(QUEUES.plansDead, { durable: true });
  await ch.bindQueue(QUEUES.partials, EXCHANGE, ROUTING.partial);
  await ch.bindQueue(QUEUES.plans, EXCHANGE, ROUTING.plan);
  await ch.bindQueue(QUEUES.partialsDead, DEAD_LETTER_EXCHANGE, ROUTING.partial);
  await ch.bindQueue(QUEUES.plansDead, DEAD_LETTER_EXCHANGE, ROUTING.plan);
}

/** A setup step for BrokerConnection: declare everything on a short-lived channel. */
export async function declareTopologyOn(model: { createChannel(): Promise<Channel> }): Promise<void> {
  const ch = await model.createChannel();
  ch.on('error', () => {}); // a failed declaration rejects the call below, which is what we report
  try {
    await declareTopology(ch);
  } finally {
    await ch.close().catch(() => {});
  }
}
