import { hostname } from 'node:os';
import type { Plan } from '../core/contracts/messages.js';
import type { Backoff } from '../core/util/backoff.js';
import type { Log } from '../core/util/log.js';
import type { BrokerAddress } from '../transport/broker-address.js';
import { planEnvelope } from '../transport/envelope.js';
import { openPublishSession, type PublishSession } from '../transport/publish-session.js';

/**
 * Hands plans to the plotter through the broker's plan queue (docs/pipeline.md), with a publisher
 * confirm: once publish() resolves the broker has the plan on disk, so the plotter gets it even if
 * it is down right now. A plan published twice (a restart between the confirm and recording it)
 * is harmless: the plotter stores the same plan idempotently.
 */
export interface PlanPublisher {
  publish(plan: Plan): Promise<void>;
  close(): Promise<void>;
}

/** One publish keeps trying this long, then fails as transient and the work queue retries later. */
const PUBLISH_RETRY: Backoff = { initialMs: 250, maxMs: 5_000, budgetMs: 30_000 };

export function brokerPlanPublisher(address: BrokerAddress, log: Log): PlanPublisher {
  let session: PublishSession | undefined;
  return {
    async publish(plan) {
      session ??= openPublishSession(address, { name: `hzz-operator ${hostname()}`, retry: PUBLISH_RETRY, log });
      const msg = planEnvelope(plan);
      await session.publisher.publish(msg.exchange, msg.routingKey, msg.body, msg.options);
    },
    async close() {
      await session?.close();
    },
  };
}
