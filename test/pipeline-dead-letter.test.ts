import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { toPartial } from '../core/analyze-chunk.js';
import { ExitCode } from '../core/contracts/exit-codes.js';
import { emptyHistogram } from '../core/histogram.js';
import type { RejectedEvent } from '../plotter/inbox.js';
import { startPlotter } from '../plotter/plotter.js';
import { brokerFromUrl } from '../transport/broker-address.js';
import { planEnvelope } from '../transport/envelope.js';
import { openPublishSession } from '../transport/publish-session.js';
import { EXCHANGES, HEADERS, QUEUES, ROUTING } from '../transport/topology.js';
import { runWorker } from '../worker/run-worker.js';
import { analysisFixture, histogramsOf, tempDir } from './support/analysis-fixture.js';
import { createVhost, drain, plotterReady, publishRaw, waitUntil } from './support/broker.js';

// Messages the plotter cannot use go to a dead-letter queue with the reason in a header, where a
// person can find them; the plotter carries on and the run completes with the good ones.

const ID = 'default/higgs/g5';

test('malformed messages land in the dead-letter queues with their reason; the run completes', { timeout: 60_000 }, async (t) => {
  const fx = await analysisFixture(ID);
  const vhost = await createVhost('dead-letter');
  const out = tempDir('dead-letter');
  const address = brokerFromUrl(vhost.url);
  const plotter = await startPlotter({ out: out.path, broker: address, port: null });
  const session = openPublishSession(address, { name: 'test', retry: { initialMs: 100, maxMs: 1000, budgetMs: 10_000 } });
  t.after(async () => { await session.close(); await plotter.stop(); await vhost.dispose(); out.dispose(); });
  const rejected: RejectedEvent[] = [];
  plotter.on('rejected', (e: RejectedEvent) => rejected.push(e));
  await plotterReady(plotter);

  const plan = planEnvelope(fx.plan);
  await session.publisher.publish(plan.exchange, plan.routingKey, plan.body, plan.options);
  await waitUntil('the plan', () => plotter.status(ID)?.planned === true);

  const good = fx.sign(toPartial(fx.tasks[1]!, emptyHistogram(fx.plan.binning, fx.plan.cuts!.length)));
  const bad = [
    { key: ROUTING.partial, body: '{"schema": "hzz.partial/v2", "analysis": ', reason: /not valid JSON/ },
    { key: ROUTING.partial, body: JSON.stringify({ schema: 'hzz.partial/v2', analysis: ID }), reason: /partial: invalid: .*\/chunk/ },
    { key: ROUTING.partial, body: JSON.stringify({ ...good, schema: 'hzz.partial/v3' }), reason: /\/schema/ },
    { key: ROUTING.partial, body: JSON.stringify(fx.sign({ ...good, cutflow: [1] })), reason: /has a cut-flow of 1 cuts, the plan 2/ },
    { key: ROUTING.partial, body: JSON.stringify({ ...good, analysis: 'default/../../etc/g1' }), reason: /contains '\.\.'/ },
    { key: ROUTING.partial, body: JSON.stringify({ ...good, analysis: '/abs/g1' }), reason: /absolute path/ },
    { key: ROUTING.partial, body: JSON.stringify({ ...good, sumw: good.sumw.slice(1) }), reason: /\/sumw has 33 bins/ },
    { key: ROUTING.partial, body: JSON.stringify({ ...good, chunk: { ...good.chunk, index: 999 } }), reason: /chunk 999 is beyond the plan's/ },
    { key: ROUTING.plan, body: JSON.stringify({ ...fx.plan, lumi: 'ten' }), reason: /plan: invalid: \/lumi/ },
    { key: ROUTING.plan, body: JSON.stringify({ ...fx.plan, lumi: fx.plan.lumi * 2 }), reason: /conflicts with the plan already stored/ },
  ];
  for (const b of bad) await publishRaw(vhost.url, b.key === ROUTING.plan ? EXCHANGES.plan : EXCHANGES.partial, b.key, b.body);

  // The good chunks come after the bad messages in the same queue: the plotter must get past them.
  const codes = await Promise.all(fx.tasks.map((task) => runWorker(task, fx.workerEnv, { publisher: session.publisher }).then((o) => o.code)));
  assert.ok(codes.every((c) => c === ExitCode.Published));
  const status = await plotter.waitForComplete(ID, 30_000);
  assert.deepEqual(status.chunks, { total: fx.plan.chunks, done: fx.plan.chunks });
  assert.deepEqual(histogramsOf(plotter.results(ID)!), histogramsOf(fx.expected));

  await waitUntil('every bad message to be rejected', () => rejected.length === bad.length);
  const dead = [...await drain(vhost.url, QUEUES.partialsDead), ...await drain(vhost.url, QUEUES.plansDead)];
  assert.equal(dead.length, bad.length, 'one dead letter per bad message');
  for (const b of bad) {
    const d = dead.find((m) => m.content.toString() === b.body);
    assert.ok(d, `dead letter for ${b.body.slice(0, 60)}`);
    const headers = d.properties.headers ?? {};
    assert.match(String(headers[HEADERS.reason]), b.reason);
    assert.equal(headers[HEADERS.rejectedFrom], b.key === ROUTING.plan ? QUEUES.plans : QUEUES.partials);
    assert.equal(d.fields.routingKey, b.key);
  }
  // Nothing of the bad messages reached the disk, least of all outside the output folder.
  const dir = join(out.path, 'default', 'higgs', 'g5');
  assert.equal(readdirSync(join(dir, 'partials')).length, fx.plan.chunks);
  assert.ok(!existsSync(join(dir, 'partials', 'c999.json')));
  assert.deepEqual(readdirSync(out.path), ['default']);
  assert.deepEqual(readdirSync(join(out.path, 'default')), ['higgs']);
});
