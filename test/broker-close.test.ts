import assert from 'node:assert/strict';
import { connect as tcpConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { brokerFromUrl } from '../transport/broker-address.js';
import { openPublishSession } from '../transport/publish-session.js';
import { EXCHANGES, QUEUES, ROUTING } from '../transport/topology.js';
import { createVhost, declareTopology, drain } from './support/broker.js';
import { cleanupStack } from './support/cleanup.js';

// The broker dies while a client closes its connection (the chaos test, seed 22: a worker's
// confirmed publish, then RabbitMQ SIGKILLed during session.close()). amqplib settles close() only
// on the broker's CloseOk, which never comes; the wait must end with the socket. Here a loopback
// proxy stands in for the dying broker: it cuts both sockets on the client's Connection.Close,
// the first frame the client sends after its publish was confirmed.

/** A TCP proxy to the broker that resets the connection on the client's next bytes once armed. */
async function cuttingProxy(target: URL): Promise<{ port: number; cutOnNextWrite(): void; close(): void }> {
  const [host, port] = [target.hostname, Number(target.port)];
  const pairs = new Set<[Socket, Socket]>();
  let armed = false;
  const server = createServer((client) => {
    const upstream = tcpConnect(port, host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('data', (d) => {
      if (armed) { client.resetAndDestroy(); upstream.destroy(); return; }
      upstream.write(d);
    });
    upstream.on('data', (d) => client.write(d));
    for (const s of pair) s.on('error', () => {}).on('close', () => { pair.forEach((o) => o.destroy()); pairs.delete(pair); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cutOnNextWrite: () => { armed = true; },
    close: () => { server.close(); for (const p of pairs) p.forEach((s) => s.destroy()); },
  };
}

test('closing a publishing session whose broker dies mid-close settles, and the confirmed message is kept', { timeout: 30_000 }, async (t) => {
  const defer = cleanupStack(t);
  const vhost = await createVhost('close');
  defer(() => vhost.dispose());
  // Workers declare nothing (their broker user may not): the plotter's topology is there first.
  await declareTopology(vhost.url);
  const url = new URL(vhost.url);
  const proxy = await cuttingProxy(url);
  defer(() => proxy.close());
  url.host = `127.0.0.1:${proxy.port}`;
  const session = await openPublishSession(brokerFromUrl(url.toString()), { name: 'close test', retry: { initialMs: 100, maxMs: 500, budgetMs: 5_000 } });
  await session.publisher.publish(EXCHANGES.partial, ROUTING.partial, Buffer.from('{}'), { messageId: 'close-test' });

  proxy.cutOnNextWrite();
  const closed = await Promise.race([session.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still pending after 5 s'), 5_000))]);
  assert.equal(closed, 'closed');
  assert.deepEqual((await drain(vhost.url, QUEUES.partials)).map((m) => m.properties.messageId), ['close-test']);
});
