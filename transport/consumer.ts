import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { errorMessage } from '../core/contracts/errors.js';
import { silentLog, type Log } from '../core/util/log.js';
import type { BrokerConnection } from './connection.js';

/**
 * A queue consumer with manual acks that survives reconnects: it subscribes again on every new
 * connection. Each delivery is acked only by the handler, after it has done its work; if the channel
 * died in between, the ack cannot be sent and the broker redelivers the message, which is why every
 * handler must be idempotent.
 */
export interface Delivery {
  queue: string;
  body: Buffer;
  message: ConsumeMessage;
  /** The broker delivered this message before, to a consumer that did not ack it. */
  redelivered: boolean;
  /** The channel it came on has closed: an ack is impossible and the broker will redeliver it. */
  readonly stale: boolean;
  /** Acks; returns false when the channel is gone (the message will come again). */
  ack(): boolean;
  /** Hands the message back to the queue for another try (a failure on our side, not the message's). */
  requeue(): boolean;
}

export interface ConsumerOptions {
  queue: string;
  /** Unacked messages the broker may hand us at once: a bound on memory and on redelivery after a crash. */
  prefetch: number;
  handle: (d: Delivery) => void;
  log?: Log;
}

export class QueueConsumer {
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private stopping = false;
  private readonly log: Log;

  constructor(private readonly conn: BrokerConnection, private readonly opts: ConsumerOptions) {
    this.log = opts.log ?? silentLog;
  }

  /** True while subscribed on a live channel. */
  get consuming(): boolean {
    return this.channel !== undefined && this.conn.connected && !this.stopping;
  }

  start(): Promise<void> {
    return this.conn.addSetup((model) => this.subscribe(model));
  }

  /**
   * Asks the broker for no more deliveries but keeps the channel, so messages already handed to us
   * can still be acked once their work is done (a graceful stop then redelivers nothing).
   */
  async cancel(): Promise<void> {
    this.stopping = true;
    const ch = this.channel;
    if (ch && this.consumerTag) await ch.cancel(this.consumerTag).catch(() => {});
  }

  /** Closes the channel; whatever is still unacked goes back to the queue. */
  async close(): Promise<void> {
    this.stopping = true;
    const ch = this.channel;
    this.channel = undefined;
    if (ch) await ch.close().catch(() => {});
  }

  private async subscribe(model: ChannelModel): Promise<void> {
    if (this.stopping) return;
    const ch = await model.createChannel();
    let open = true;
    ch.on('error', (err: unknown) => this.log('consumer channel error', { queue: this.opts.queue, error: errorMessage(err) }));
    ch.on('close', () => {
      open = false;
      if (this.channel !== ch) return;
      this.channel = undefined;
      // A channel can die alone (a bad ack, a deleted queue); rebuild the whole connection.
      this.conn.reset(`consumer channel for ${this.opts.queue} closed`);
    });
    await ch.prefetch(this.opts.prefetch);
    const { consumerTag } = await ch.consume(this.opts.queue, (msg) => {
      if (msg === null) {
        if (this.stopping) return;
        // The broker cancelled us (the queue was deleted): start over, which re-declares it.
        this.conn.reset(`consumer of ${this.opts.queue} cancelled by the broker`);
        return;
      }
      let settled = false;
      const settle = (how: () => void): boolean => {
        if (settled) return true;
        if (!open) return false;
        try {
          how();
          settled = true;
          return true;
        } catch {
          return false;
        }
      };
      this.opts.handle({
        queue: this.opts.queue,
        body: msg.content,
        message: msg,
        redelivered: msg.fields.redelivered,
        get stale() { return !open; },
        ack: () => settle(() => ch.ack(msg)),
        requeue: () => settle(() => ch.nack(msg, false, true)),
      });
    }, { noAck: false });
    this.channel = ch;
    this.consumerTag = consumerTag;
    this.log('consuming', { queue: this.opts.queue, prefetch: this.opts.prefetch });
  }
}
