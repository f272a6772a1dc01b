import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ExitCode } from '../core/contracts/exit-codes.js';
import type { PartialEvent } from '../plotter/inbox.js';
import { startPlotter } from '../plotter/plotter.js';
import { brokerFromUrl } from '../transport/broker-address.js';
import { planEnvelope } from '../transport/envelope.js';
import { openPublishSession, type PublishSession } from '../transport/publish-session.js';
import { QUEUES } from '../transport/topology.js';
import { runWorker } from '../worker/run-worker.js';
import { analysisFixture, histogramsOf, tempDir, type Fixture } from './support/analysis-fixture.js';
import { createVhost, plotterReady, queueDepth, waitUntil } from './support/broker.js';
import { spawnPlotter } from './support/child-process.js';
import { cleanupStack } from './support/cleanup.js';

// The plotter dies at the worst moments (SIGKILL, no chance to clean up) and the result is still
// exact: a message whose file was written but whose ack was not sent comes back and replaces its
// own file; a restarted plotter rebuilds from its folder and finishes the run.

const ID = 'default/higgs/g2';
let fx: Fixture;

before(async () => { fx = await analysisFixture(ID); });

const retry = { initialMs: 100, maxMs: 1000, budgetMs: 15_000 };

async function publishPlan(session: PublishSession): Promise<void> {
  const m = planEnvelope(fx.plan);
  await session.publisher.publish(m.exchange, m.routingKey, m.body, m.options);
}

async function publishChunks(session: PublishSession, tasks = fx.tasks): Promise<void> {
  const codes = await Promise.all(tasks.map((t) => runWorker(t, fx.workerEnv, { publisher: session.publisher }).then((o) => o.code)));
  assert.ok(codes.every((c) => c === ExitCode.Published), `exit codes ${codes.join(',')}`);
}

test('a partial stored but not acked when the plotter is killed is redelivered and counted once', { timeout: 60_000 }, async (t) => {
  const vhost = await createVhost('redeliver');
  const out = tempDir('redeliver');
  const session = openPublishSession(brokerFromUrl(vhost.url), { name: 'test', retry });
  const dying = spawnPlotter({ out: out.path, amqpUrl: vhost.url, faults: { holdAcks: true } });
  const defer = cleanupStack(t);
  defer(() => vhost.dispose());
  defer(() => out.dispose());
  defer(() => session.close());
  defer(() => dying.kill('SIGKILL'));

  await dying.waitForLine((l) => l.msg === 'consuming' && l.queue === QUEUES.partials);
  await publishPlan(session);
  await publishChunks(session, [fx.tasks[0]!]);
  await dying.waitForLine((l) => l.msg === 'holding the ack (test hook)' && l.chunk === 0);
  const dir = join(out.path, 'default', 'higgs', 'g2');
  assert.ok(existsSync(join(dir, 'partials', 'c0.json')), 'the partial was written before the (withheld) ack');
  assert.equal(await dying.kill('SIGKILL'), 'SIGKILL');

  // The broker saw the connection die with the message unacked, so it is back in the queue.
  await waitUntil('the unacked partial to be back in the queue', async () => (await queueDepth(vhost.url, QUEUES.partials)) === 1, 10_000);

  const plotter = await startPlotter({ out: out.path, broker: brokerFromUrl(vhost.url), port: null });
  defer(() => plotter.stop());
  const seen: PartialEvent[] = [];
  plotter.on('partial', (e: PartialEvent) => seen.push(e));
  assert.equal(plotter.status(ID)?.chunks.done, 1, 'the restarted plotter found chunk 0 on disk');

  await plotterReady(plotter);
  await waitUntil('chunk 0 to be redelivered', () => seen.some((e) => e.chunk === 0));
  assert.deepEqual(seen.find((e) => e.chunk === 0), { analysis: ID, chunk: 0, redelivered: true });
  assert.equal(plotter.status(ID)?.chunks.done, 1, 'the redelivered chunk replaced its twin');

  await publishChunks(session, fx.tasks.slice(1));
  const status = await plotter.waitForComplete(ID, 30_000);
  assert.deepEqual(status.chunks, { total: fx.plan.chunks, done: fx.plan.chunks });
  assert.deepEqual(histogramsOf(plotter.results(ID)!), histogramsOf(fx.expected));
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'histograms.json'), 'utf8')), histogramsOf(fx.expected));
  assert.equal(seen.filter((e) => e.chunk === 0).length, 1);
});

test('a plotter killed mid-run and restarted finishes with the identical result', { timeout: 60_000 }, async (t) => {
  const vhost = await createVhost('restart');
  const out = tempDir('restart');
  const session = openPublishSession(brokerFromUrl(vhost.url), { name: 'test', retry });
  // Slowed down so that SIGKILL lands while most partials are still queued or in flight.
  const first = spawnPlotter({ out: out.path, amqpUrl: vhost.url, faults: { delayPerMessageMs: 60 } });
  const plotters = [first];
  t.after(async () => {
    for (const p of plotters) await p.kill('SIGKILL');
    await session.close();
    await vhost.dispose();
    out.dispose();
  });

  await first.waitForLine((l) => l.msg === 'consuming' && l.queue === QUEUES.partials);
  await publishPlan(session);
  // Workers are fast: without this wait every partial may be queued before the plan is taken.
  await first.waitForLine((l) => l.msg === 'stored plan' && l.analysis === ID);
  await publishChunks(session);
  await first.waitForLine((l) => l.msg === 'stored partial' && first.lines.filter((x) => x.msg === 'stored partial').length >= 5);
  assert.equal(await first.kill('SIGKILL'), 'SIGKILL');

  const dir = join(out.path, 'default', 'higgs', 'g2');
  const storedBefore = readdirSync(join(dir, 'partials')).length;
  assert.ok(storedBefore >= 5 && storedBefore < fx.plan.chunks, `killed mid-run: ${storedBefore} of ${fx.plan.chunks} stored`);
  const statusBefore = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8'));
  assert.equal(statusBefore.complete, false);

  const second = spawnPlotter({ out: out.path, amqpUrl: vhost.url });
  plotters.push(second);
  await second.waitForLine((l) => l.msg === 'analysis complete' && l.analysis === ID);

  const status = await second.get(`/analyses/${ID}/status`);
  assert.equal(status.status, 200);
  const s = JSON.parse(status.body.toString());
  assert.deepEqual([s.chunks, s.complete], [{ total: fx.plan.chunks, done: fx.plan.chunks }, true]);
  const png = await second.get(`/analyses/${ID}/hzz_m4l.png`);
  assert.deepEqual([png.status, png.type, png.body.subarray(1, 4).toString()], [200, 'image/png', 'PNG']);
  assert.equal((await second.get('/readyz')).status, 200);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'histograms.json'), 'utf8')), histogramsOf(fx.expected));
  assert.equal(readdirSync(join(dir, 'partials')).length, fx.plan.chunks);

  // A graceful stop (what Kubernetes sends first) exits cleanly.
  assert.equal(await second.kill('SIGTERM'), 0);
  assert.equal(await queueDepth(vhost.url, QUEUES.partials), 0);
});
