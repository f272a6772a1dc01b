// Partials are unforgeable across analyses (issue 11): whoever runs one analysis's chunks holds that
// analysis's key only, and the plotter counts a partial only if it verifies under the key its plan
// carries. Against the real RabbitMQ, with partials made from the real files.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { drawPartialKey, PARTIAL_KEY_ENV, signatureProblem, signPartial } from '../core/contracts/partial-signature.js';
import { ExitCode } from '../core/contracts/exit-codes.js';
import { analyzeChunk, toPartial } from '../core/analyze-chunk.js';
import { startPlotter } from '../plotter/plotter.js';
import { brokerFromUrl } from '../transport/broker-address.js';
import { partialEnvelope, planEnvelope } from '../transport/envelope.js';
import { openPublishSession } from '../transport/publish-session.js';
import { HEADERS, QUEUES } from '../transport/topology.js';
import { runWorker } from '../worker/run-worker.js';
import { analysisFixture, histogramsOf, tempDir, type Fixture } from './support/analysis-fixture.js';
import { createVhost, drain, plotterReady, waitUntil } from './support/broker.js';

const ID = 'team-a/higgs/g1-0a1b2c3d';
let fx: Fixture;

before(async () => { fx = await analysisFixture(ID); });

test('sign and verify: any change to a signed partial, or another key, breaks it', async () => {
  const key = drawPartialKey();
  const p = signPartial(toPartial(fx.tasks[0]!, await analyzeChunk(fx.tasks[0]!)), key);
  assert.equal(signatureProblem(p, key), undefined);
  assert.equal(signatureProblem(JSON.parse(JSON.stringify(p)), key), undefined, 'a JSON round trip keeps it valid');
  assert.match(signatureProblem(p, drawPartialKey())!, /does not match/);
  assert.match(signatureProblem({ ...p, sumw: p.sumw.map((w) => w + 1) }, key)!, /does not match/);
  assert.match(signatureProblem({ ...p, chunk: { ...p.chunk, entryStop: p.chunk.entryStop + 1 } }, key)!, /does not match/);
  assert.match(signatureProblem({ ...p, signature: undefined }, key)!, /no signature/);
});

test('a well-formed partial for another analysis\'s chunk, signed with the wrong key, is dead-lettered with the reason', { timeout: 90_000 }, async (t) => {
  const vhost = await createVhost('signature');
  const out = tempDir('signature');
  const address = brokerFromUrl(vhost.url);
  const plotter = await startPlotter({ out: out.path, broker: address, port: 0, host: '127.0.0.1' });
  const session = openPublishSession(address, { name: 'test', retry: { initialMs: 100, maxMs: 1000, budgetMs: 10_000 } });
  t.after(async () => { await session.close(); await plotter.stop(); await vhost.dispose(); out.dispose(); });
  await plotterReady(plotter);
  const rejected: { reason: string; analysis?: string }[] = [];
  plotter.on('rejected', (e: { reason: string; analysis?: string }) => rejected.push(e));

  const key = drawPartialKey();
  const plan = planEnvelope({ ...fx.plan, partialKey: key });
  await session.publisher.publish(plan.exchange, plan.routingKey, plan.body, plan.options);
  await waitUntil('the plan', () => plotter.status(ID)?.planned === true);
  const served = await (await fetch(`http://127.0.0.1:${plotter.port}/analyses/${ID}/plan.json`)).json() as Record<string, unknown>;
  assert.deepEqual([served.chunks, 'partialKey' in served], [fx.plan.chunks, false], 'the HTTP API never serves the key');

  // Someone who runs chunks of another analysis (team-b) signs with that analysis's key: a partial
  // for team-a's chunk 0 with ten times its weights, otherwise perfectly well formed.
  const [first, ...rest] = fx.tasks;
  const genuine = toPartial(first!, await analyzeChunk(first!));
  const inflated = { ...genuine, sumw: genuine.sumw.map((w) => w * 10) };
  const forged = [signPartial(inflated, drawPartialKey()), inflated];
  for (const p of forged) {
    const msg = partialEnvelope(p);
    await session.publisher.publish(msg.exchange, msg.routingKey, msg.body, msg.options);
  }
  await waitUntil('both forgeries refused', () => rejected.length === 2);
  // A plan without a key would count unsigned partials: refused, whoever sent it.
  const keyless = planEnvelope({ ...fx.plan, analysis: `${ID}-keyless`, partialKey: undefined });
  await session.publisher.publish(keyless.exchange, keyless.routingKey, keyless.body, keyless.options);
  await waitUntil('the keyless plan refused', () => rejected.length === 3);
  assert.deepEqual(rejected.pop(), { queue: QUEUES.plans, reason: 'plan: /partialKey is missing: the plotter counts only partials signed with their analysis\'s key' });
  assert.equal(plotter.status(`${ID}-keyless`), undefined);
  assert.equal((await drain(vhost.url, QUEUES.plansDead)).length, 1);
  assert.match(rejected[0]!.reason, /chunk 0 is not from this analysis: its signature does not match its analysis's key/);
  assert.match(rejected[1]!.reason, /chunk 0 is not from this analysis: it carries no signature/);
  assert.equal(plotter.status(ID)?.chunks.done, 0, 'nothing forged is stored');
  const dead = await drain(vhost.url, QUEUES.partialsDead);
  assert.deepEqual(dead.map((m) => String(m.properties.headers?.[HEADERS.reason])), rejected.map((r) => r.reason));

  // The analysis's own workers sign with its key and complete it with the right numbers.
  const codes = await Promise.all([first!, ...rest].map((task) => runWorker(task, { [PARTIAL_KEY_ENV]: key }, { publisher: session.publisher }).then((o) => o.code)));
  assert.deepEqual(new Set(codes), new Set([ExitCode.Published]));
  await plotter.waitForComplete(ID, 60_000);
  assert.deepEqual(histogramsOf(plotter.results(ID)!), histogramsOf(fx.expected));
});
