import type { EventEmitter } from 'node:events';
import { errorMessage } from '../core/contracts/errors.js';
import { sleep } from '../core/util/backoff.js';
import type { Log } from '../core/util/log.js';
import type { Delivery } from '../transport/consumer.js';
import { deadLetter } from '../transport/dead-letter.js';
import type { ConfirmPublisher } from '../transport/publisher.js';
import type { Topology } from '../transport/topology.js';
import type { Analyses } from './analyses.js';
import { parsePartial, parsePlan } from './message-checks.js';
import type { SerialWork } from './serial-work.js';

/**
 * What comes in: plans and partials from the queues, each checked, stored
 * and only then acked; one that fails the checks is dead-lettered with its reason; one we could not
 * store (our failure, a full disk say) goes back to the queue. Deliveries are handled one at a time,
 * in arrival order, inside the plotter's serial work.
 *
 * Events on `events`: 'partial' (PartialEvent), 'rejected' (RejectedEvent).
 */
export interface PartialEvent {
  analysis: string;
  chunk: number;
  redelivered: boolean;
}

export interface RejectedEvent {
  queue: string;
  reason: string;
  /** When the message was readable enough to tell. */
  analysis?: string;
}

export interface InboxOptions {
  analyses: Analyses;
  work: SerialWork;
  events: EventEmitter;
  counters: { deliveries: number; redelivered: number; rejected: number };
  log: Log;
  topology: Topology;
  faults?: {
    /** Store partials but never ack them, as if the process died just before the ack. */
    holdAcks?: boolean;
    /** Pause before handling each message, to make a run slow enough to interrupt. */
    delayPerMessageMs?: number;
  } | undefined;
}

export class Inbox {
  constructor(private readonly opts: InboxOptions) {}

  /** The queue consumers' handler; refused messages are dead-lettered through `deadLetters`. */
  deliveries(deadLetters: ConfirmPublisher): (d: Delivery) => void {
    return (d) => {
      this.opts.counters.deliveries++;
      if (d.redelivered) this.opts.counters.redelivered++;
      this.opts.work.run(() => this.handle(d, deadLetters)).catch((err) => this.opts.log('message handling failed', { queue: d.queue, error: errorMessage(err) }));
    };
  }

  private async handle(d: Delivery, deadLetters: ConfirmPublisher): Promise<void> {
    const { faults, log } = this.opts;
    if (faults?.delayPerMessageMs) await sleep(faults.delayPerMessageMs);
    // Its channel is gone, so the broker has already queued it again: handling it now is wasted work.
    if (d.stale) return;
    try {
      const refused = d.queue === this.opts.topology.queues.plans ? await this.takePlan(d) : await this.takePartial(d);
      if (refused) await this.reject(d, deadLetters, refused);
    } catch (err) {
      // Our failure (a full disk, say), not the message's: hand it back and slow down.
      log('could not store message; requeued', { queue: d.queue, error: errorMessage(err) });
      await sleep(1000);
      d.requeue();
    }
  }

  /** Stores and acks a plan; what refused it, if anything. */
  private async takePlan(d: Delivery): Promise<Omit<RejectedEvent, 'queue'> | undefined> {
    const parsed = parsePlan(d.body);
    const r = parsed.ok ? await this.opts.analyses.storePlan(parsed.value) : parsed;
    if (!r.ok) return { reason: r.reason, ...(parsed.ok ? { analysis: parsed.value.analysis } : {}) };
    d.ack();
    return undefined;
  }

  /** Stores and acks a partial, then has its analysis redrawn; what refused it, if anything. */
  private async takePartial(d: Delivery): Promise<Omit<RejectedEvent, 'queue'> | undefined> {
    const { analyses, events, log, faults } = this.opts;
    const parsed = parsePartial(d.body);
    if (!parsed.ok) return { reason: parsed.reason };
    const p = parsed.value;
    const r = await analyses.storePartial(p, d.body);
    if (!r.ok) return { reason: r.reason, analysis: p.analysis };
    const event: PartialEvent = { analysis: p.analysis, chunk: p.chunk.index, redelivered: d.redelivered };
    log('stored partial', { ...event });
    events.emit('partial', event);
    if (faults?.holdAcks) {
      log('holding the ack (test hook)', { ...event });
      return undefined;
    }
    d.ack();
    analyses.requestDraw(p.analysis);
    return undefined;
  }

  private async reject(d: Delivery, deadLetters: ConfirmPublisher, refused: Omit<RejectedEvent, 'queue'>): Promise<void> {
    this.opts.counters.rejected++;
    const event: RejectedEvent = { queue: d.queue, ...refused };
    this.opts.log('rejected message', { ...event, redelivered: d.redelivered });
    this.opts.events.emit('rejected', event);
    try {
      await deadLetter(deadLetters, this.opts.topology, d, event.reason);
    } catch (err) {
      this.opts.log('could not dead-letter; the broker will redeliver it', { queue: d.queue, error: errorMessage(err) });
    }
  }
}
