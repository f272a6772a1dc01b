import { randomBytes } from 'node:crypto';
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
 *
 * An installation uses the names above. Each `hzz run --broker` uses the same shape under a prefix
 * of its own (`hzz.run.<id>.…`), so two runs, or a run pointed at an installation's vhost, never
 * consume each other's messages; a run's objects are temporary (see runTopology).
 */
export interface Topology {
  exchanges: { partial: string; plan: string; dead: string };
  queues: { partials: string; plans: string; partialsDead: string; plansDead: string };
  /** A run's own: its exchanges go with their last binding, its live queues after a day unused. */
  temporary: boolean;
}

/** How long a run's live queue may go unused (no consumer, no declaration) before the broker deletes it. */
export const TEMPORARY_QUEUE_EXPIRES_MS = 24 * 3600_000;

function topologyNamed(prefix: string, temporary: boolean): Topology {
  return {
    exchanges: { partial: `${prefix}.partial`, plan: `${prefix}.plan`, dead: `${prefix}.dead` },
    queues: { partials: `${prefix}.partials`, plans: `${prefix}.plans`, partialsDead: `${prefix}.partials.dead`, plansDead: `${prefix}.plans.dead` },
    temporary,
  };
}

/** An installation's objects (the chart's broker users are granted exactly these names). */
export const TOPOLOGY = topologyNamed('hzz', false);
export const EXCHANGES = TOPOLOGY.exchanges;
export const QUEUES = TOPOLOGY.queues;

/**
 * Objects of one run's own, under a random prefix. They are deleted when the run ends
 * (deleteTopology); those of a run that was killed mostly go by themselves: its live queues after a
 * day unused (x-expires), the exchanges with their last binding (auto-delete). Its dead-letter
 * queues never expire: a dead letter is for a person to read.
 */
export function runTopology(): Topology {
  return topologyNamed(`hzz.run.${randomBytes(6).toString('hex')}`, true);
}

export const ROUTING = { partial: 'partial', plan: 'plan' } as const;
export type RoutingKey = (typeof ROUTING)[keyof typeof ROUTING];

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

export async function declareTopology(ch: Channel, t: Topology = TOPOLOGY): Promise<void> {
  const exchange = { durable: true, autoDelete: t.temporary };
  await ch.assertExchange(t.exchanges.partial, 'direct', exchange);
  await ch.assertExchange(t.exchanges.plan, 'direct', exchange);
  await ch.assertExchange(t.exchanges.dead, 'direct', exchange);
  const expires = t.temporary ? { 'x-expires': TEMPORARY_QUEUE_EXPIRES_MS } : {};
  const live = { durable: true, arguments: { 'x-dead-letter-exchange': t.exchanges.dead, ...expires } };
  await ch.assertQueue(t.queues.partials, live);
  await ch.assertQueue(t.queues.plans, live);
  await ch.assertQueue(t.queues.partialsDead, { durable: true });
  await ch.assertQueue(t.queues.plansDead, { durable: true });
  await ch.bindQueue(t.queues.partials, t.exchanges.partial, ROUTING.partial);
  await ch.bindQueue(t.queues.plans, t.exchanges.plan, ROUTING.plan);
  await ch.bindQueue(t.queues.partialsDead, t.exchanges.dead, ROUTING.partial);
  await ch.bindQueue(t.queues.plansDead, t.exchanges.dead, ROUTING.plan);
}

/** A setup step for BrokerConnection: declare everything on a short-lived channel. */
export async function declareTopologyOn(model: { createChannel(): Promise<Channel> }, t: Topology = TOPOLOGY): Promise<void> {
  await onShortChannel(model, (ch) => declareTopology(ch, t));
}

/**
 * Deletes a run's objects once it is over: its live queues (nobody else can consume them), and its
 * dead-letter queues when they are empty; a dead letter is never thrown away, so a dead-letter
 * queue that holds any stays, and is returned with its count. The exchanges go with their last
 * binding.
 */
export async function deleteTopology(model: { createChannel(): Promise<Channel> }, t: Topology): Promise<{ queue: string; messages: number }[]> {
  if (!t.temporary) throw new Error('only a run\'s own topology is deleted');
  return onShortChannel(model, async (ch) => {
    await ch.deleteQueue(t.queues.partials);
    await ch.deleteQueue(t.queues.plans);
    const kept: { queue: string; messages: number }[] = [];
    for (const queue of [t.queues.partialsDead, t.queues.plansDead]) {
      const { messageCount } = await ch.checkQueue(queue);
      if (messageCount > 0) kept.push({ queue, messages: messageCount });
      else await ch.deleteQueue(queue, { ifEmpty: true });
    }
    return kept;
  });
}

async function onShortChannel<T>(model: { createChannel(): Promise<Channel> }, fn: (ch: Channel) => Promise<T>): Promise<T> {
  const ch = await model.createChannel();
  ch.on('error', () => {}); // a failed call rejects below, which is what we report
  try {
    return await fn(ch);
  } finally {
    await ch.close().catch(() => {});
  }
}
