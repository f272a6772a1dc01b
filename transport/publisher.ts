import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import { errorMessage, transient } from '../core/contracts/errors.js';
import { backoffDelay, sleep, type Backoff } from '../core/util/backoff.js';
import type { BrokerConnection } from './connection.js';
import { HEADERS } from './topology.js';

/**
 * Publishing that resolves only once the broker has taken responsibility for the message: a
 * confirm channel's ack, for a persistent message to a durable queue, means it is on disk. If the
 * connection drops before the ack, the message is published again on the next connection, so a
 * message may arrive twice but is never lost; the plotter's idempotent store absorbs the twin.
 */
export interface PublishOptions {
  headers?: Record<string, unknown>;
  messageId?: string;
  type?: string;
}

export class ConfirmPublisher {
  private channel: { model: ChannelModel; ch: ConfirmChannel } | undefined;
  private readonly returned = new Set<string>();

  constructor(
    private readonly conn: BrokerConnection,
    /** How long one publish keeps retrying (through reconnects) before it fails as transient. */
    private readonly retry: Backoff,
    /** How long to wait for a confirm before treating the connection as dead. */
    private readonly confirmTimeoutMs = 30_000,
  ) {}

  async publish(exchange: string, routingKey: string, body: Buffer, opts: PublishOptions = {}): Promise<void> {
    const since = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.publishOnce(exchange, routingKey, body, opts);
        return;
      } catch (err) {
        const delay = backoffDelay(attempt, this.retry);
        if (Date.now() - since + delay > this.retry.budgetMs || (err as { kind?: string }).kind === 'transient') {
          throw transient(`broker ${this.conn.address}`, `publish to ${exchange}/${routingKey} not confirmed: ${errorMessage(err)}`, err);
        }
        await sleep(delay);
      }
    }
  }

  private async publishOnce(exchange: string, routingKey: string, body: Buffer, opts: PublishOptions): Promise<void> {
    const ch = await this.confirmChannel();
    const publishId = randomUUID();
    const properties: Options.Publish = {
      persistent: true,
      // Unroutable messages come back instead of vanishing; see the 'return' listener.
      mandatory: true,
      contentType: 'application/json',
      timestamp: Math.floor(Date.now() / 1000),
      headers: { ...opts.headers, [HEADERS.publishId]: publishId },
      ...(opts.messageId ? { messageId: opts.messageId } : {}),
      ...(opts.type ? { type: opts.type } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no confirm within ${this.confirmTimeoutMs} ms`));
        this.conn.reset('publish confirm timed out');
      }, this.confirmTimeoutMs);
      const fits = ch.publish(exchange, routingKey, body, properties, (err) => {
        clearTimeout(timer);
        // The broker sends basic.return before the ack of the same message, so by now we know.
        if (this.returned.delete(publishId)) {
          // Someone deleted a queue or binding; a fresh connection re-declares the topology.
          this.conn.reset(`unroutable message to ${exchange}/${routingKey}`);
          reject(new Error(`unroutable: no queue bound to ${exchange}/${routingKey}`));
        }
        else if (err) reject(new Error(`broker refused the message: ${errorMessage(err)}`));
        else resolve();
      });
      if (!fits) once(ch, 'drain').catch(() => {});
    });
  }

  private async confirmChannel(): Promise<ConfirmChannel> {
    const model = await this.conn.current();
    if (this.channel?.model === model) return this.channel.ch;
    const ch = await model.createConfirmChannel();
    ch.on('error', () => {}); // the 'close' that follows is what matters
    ch.on('close', () => { if (this.channel?.ch === ch) this.channel = undefined; });
    ch.on('return', (msg: Message) => {
      const id = msg.properties.headers?.[HEADERS.publishId];
      if (typeof id === 'string') this.returned.add(id);
    });
    this.channel = { model, ch };
    return ch;
  }
}
