import type { Channel } from 'amqplib';

/**
 * The broker objects, declared by their consumer, the plotter, on every connect (and by tests that
 * stand in for it), always with the same arguments (a declaration with different arguments would
 * fail with PRECONDITION_FAILED, which is why they live in this one place). Publishers declare
 * nothing: declaring needs RabbitMQ's `configure` right, which chunk pods and the operator do not
 * get (docs/contracts.md, "Who may say what"); a message published before the plotter ever ran
 * fails as unroutable and is retried.
 *
 *   exchange hzz.partial (direct) ── "partial" ─▶ queue hzz.partials ─┐ dead-letter
 *   exchange hzz.plan (direct) ───── "plan" ────▶ queue hzz.plans ────┤ (x-dead-letter-exchange)
 *   exchange hzz.dead (direct) ◀──────────────────────────────────────┘
 *        ├─ "partial" ─▶ queue hzz.partials.dead
 *        └─ "plan" ────▶ queue hzz.plans.dead
 *
 * Partials and plans enter through exchanges of their own because RabbitMQ grants `write` per
 * exchange, not per routing key: a chunk pod may write to hzz.partial and nowhere else, so it can
 * never publish a plan. Plans have their own queue so that a plan never waits behind partials.
 */
export const EXCHANGES = { partial: 'hzz.partial', plan: 'hzz.plan', dead: 'hzz.dead' } as const;
export const DEAD_LETTER_EXCHANGE = EXCHANGES.dead;

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
  await ch.assertExchange(EXCHANGES.partial, 'direct', { durable: true });
  await ch.assertExchange(EXCHANGES.plan, 'direct', { durable: true });
  await ch.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  const live = { durable: true, arguments: { 'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE } };
  await ch.assertQueue(QUEUES.partials, live);
  await ch.assertQueue(QUEUES.plans, live);
  await ch.assertQueue(QUEUES.partialsDead, { durable: true });
  await ch.assertQueue(QUEUES.plansDead, { durable: true });
  await ch.bindQueue(QUEUES.partials, EXCHANGES.partial, ROUTING.partial);
  await ch.bindQueue(QUEUES.plans, EXCHANGES.plan, ROUTING.plan);
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
