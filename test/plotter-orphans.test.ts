import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { toPartial } from '../core/analyze-chunk.js';
import { drawPartialKey, PARTIAL_KEY_ENV } from '../core/contracts/partial-signature.js';
import { ExitCode } from '../core/contracts/exit-codes.js';
import type { PartialHistogram, Task } from '../core/contracts/messages.js';
import { emptyHistogram } from '../core/histogram.js';
import { startPlotter } from '../plotter/plotter.js';
import { brokerFromUrl } from '../transport/broker-address.js';
import { partialEnvelope, planEnvelope } from '../transport/envelope.js';
import { openPublishSession, type PublishSession } from '../transport/publish-session.js';
import { HEADERS, QUEUES } from '../transport/topology.js';
import { runWorker } from '../worker/run-worker.js';
import { analysisFixture, histogramsOf, tempDir, type Fixture } from './support/analysis-fixture.js';
import { createVhost, drain, plotterReady, queueDepth, waitUntil } from './support/broker.js';
import { spawnPlotter } from './support/child-process.js';
import { cleanupStack } from './support/cleanup.js';

// Orphans, partials whose plan has not come (issue 11, point 4): held on disk within a byte budget
// and a time to live, never read into memory at start-up; past either limit, or not fitting the
// plan when it comes, dead-lettered with the reason, the oldest first.

const ID = 'default/orphans/g1';
let fx: Fixture;
// Chunks of 50 entries: data_B's 156 entries are several chunks, so one can pose as another.
before(async () => { fx = await analysisFixture(ID, 50); });

const retry = { initialMs: 100, maxMs: 1000, budgetMs: 30_000 };
const dirOf = (out: string, id = ID) => join(out, ...id.split('/'), 'partials');

/** A partial of `task`'s chunk, well formed, padded with further histograms to about `bytes`. */
function bulkyPartial(task: Task, bytes: number): PartialHistogram {
  const p = toPartial(task, emptyHistogram(fx.plan.binning, fx.plan.cuts!.length));
  const bins = 2000;
  const h = { sumw: Array.from({ length: bins }, Math.random), sumw2: Array.from({ length: bins }, Math.random), entries: Array.from({ length: bins }, (_, i) => i % 97) };
  const each = JSON.stringify(h).length + 1;
  return { ...p, more: Array.from({ length: Math.max(0, Math.round((bytes - JSON.stringify(p).length) / each)) }, () => h) };
}

async function publish(session: PublishSession, p: PartialHistogram): Promise<Buffer> {
  const e = partialEnvelope(p);
  await session.publisher.publish(e.exchange, e.routingKey, e.body, e.options);
  return e.body;
}

/** Peak resident memory of a live process, from /proc (VmHWM), in MiB. */
function peakRssMiB(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(kb, `no VmHWM in /proc/${pid}/status`);
  return Number(kb[1]) / 1024;
}

test('six 30 MB orphans: a restarted plotter stays far below the chart\'s 512Mi, dead-letters the oldest over its budget and keeps the rest', { timeout: 240_000 }, async (t) => {
  const vhost = await createVhost('orphan-rss');
  const out = tempDir('orphan-rss');
  const session = openPublishSession(brokerFromUrl(vhost.url), { name: 'test', retry });
  const defer = cleanupStack(t);
  defer(() => vhost.dispose());
  defer(() => out.dispose());
  defer(() => session.close());

  // A plotter with room for all six: how a folder comes to hold them (or a plotter of before the budget).
  const roomy = spawnPlotter({ out: out.path, amqpUrl: vhost.url, env: { HZZ_PLOTTER_ORPHAN_BUDGET_MIB: '1024' } });
  defer(() => roomy.kill('SIGKILL'));
  await roomy.waitForLine((l) => l.msg === 'consuming' && l.queue === QUEUES.partials);
  const six = fx.tasks.slice(0, 6).map((task) => bulkyPartial(task, 30e6));
  for (const p of six) await publish(session, p);
  await waitUntil('six stored orphans', () => roomy.lines.filter((l) => l.msg === 'stored partial').length === 6, 120_000)
    .catch((err) => { throw new Error(`${err}\n${roomy.stderr().slice(-3000)}`); });
  const sizes = six.map((p) => readFileSync(join(dirOf(out.path), `c${p.chunk.index}.json`)).length);
  assert.ok(sizes.every((b) => b > 29e6 && b < 31e6), `each is about 30 MB: ${sizes.join(', ')}`);
  assert.equal(await roomy.kill('SIGTERM'), 0);

  // The finding (issue 11): the restart read them all, 525 MB. Now they are not read at start-up.
  const plotter = spawnPlotter({ out: out.path, amqpUrl: vhost.url });
  defer(() => plotter.kill('SIGKILL'));
  const rebuilt = await plotter.waitForLine((l) => l.msg === 'rebuilt state from the output folder');
  await plotter.waitForLine((l) => l.msg === 'consuming' && l.queue === QUEUES.partials);
  const atStart = peakRssMiB(plotter.proc.pid!);
  t.diagnostic(`peak RSS after the restart: ${atStart.toFixed(0)} MiB (orphans on disk: ${rebuilt.orphans}, ${rebuilt.orphanBytes} bytes)`);
  assert.ok(atStart < 200, `peak RSS after the restart is ${atStart.toFixed(0)} MiB`);

  // The default budget, 64 MiB, holds two: the four oldest go to the dead letters, in order, with the reason.
  await waitUntil('four dead letters', async () => (await queueDepth(vhost.url, QUEUES.partialsDead)) === 4, 60_000);
  const afterSweep = peakRssMiB(plotter.proc.pid!);
  t.diagnostic(`peak RSS after dead-lettering four: ${afterSweep.toFixed(0)} MiB`);
  // One 30 MB file read and published at a time (amqplib copies it into frames): well below 512Mi still.
  assert.ok(afterSweep < 320, `peak RSS while dead-lettering is ${afterSweep.toFixed(0)} MiB`);
  const dead = await drain(vhost.url, QUEUES.partialsDead);
  t.diagnostic(`first dead letter's reason: ${dead[0]?.properties.headers?.[HEADERS.reason]}`);
  assert.deepEqual(dead.map((m) => m.properties.messageId), six.slice(0, 4).map((p) => `${ID}#c${p.chunk.index}`));
  for (const m of dead) assert.match(String(m.properties.headers?.[HEADERS.reason]), /^partial: no plan for 'default\/orphans\/g1' yet, and the partials without a plan exceed the plotter's orphan budget of 67108864 bytes: the oldest go first/);
  assert.equal(dead[0]!.content.length, sizes[0], 'a dead letter is the whole partial');
  assert.deepEqual(readdirSync(dirOf(out.path)).sort(), six.slice(4).map((p) => `c${p.chunk.index}.json`).sort(), 'the two newest are kept');
});

test('orphans past the budget while running, and past their time to live, are dead-lettered with the reason; one larger than the budget is never stored', { timeout: 60_000 }, async (t) => {
  const vhost = await createVhost('orphan-limits');
  const out = tempDir('orphan-limits');
  const address = brokerFromUrl(vhost.url);
  // Room for two partials of 400 kB; each waits 3 s at most.
  const plotter = await startPlotter({ out: out.path, broker: address, port: null, orphanLimits: { budgetBytes: 900_000, ttlMs: 3_000 } });
  const session = openPublishSession(address, { name: 'test', retry });
  t.after(async () => { await session.close(); await plotter.stop(); await vhost.dispose(); out.dispose(); });
  await plotterReady(plotter);

  const [a, b, c] = fx.tasks.map((task) => bulkyPartial(task, 400_000));
  for (const p of [a!, b!, c!]) await publish(session, p);
  await waitUntil('the oldest to make room', async () => (await queueDepth(vhost.url, QUEUES.partialsDead)) === 1);
  assert.deepEqual(plotter.status(ID)?.chunks, { total: null, done: 2 });
  assert.deepEqual(readdirSync(dirOf(out.path)).sort(), [b!, c!].map((p) => `c${p.chunk.index}.json`).sort());
  const huge = { ...bulkyPartial(fx.tasks[3]!, 1_000_000), analysis: 'default/other/g1' };
  const hugeBody = await publish(session, huge);
  await waitUntil('the oversized one refused', async () => (await queueDepth(vhost.url, QUEUES.partialsDead)) === 2);
  assert.equal(existsSync(dirOf(out.path, 'default/other/g1')), false, 'an orphan larger than the whole budget is not stored');

  // Nobody sends the plan: after 3 s the other two go as well.
  await waitUntil('the rest to expire', async () => (await queueDepth(vhost.url, QUEUES.partialsDead)) === 4, 15_000);
  assert.deepEqual(plotter.status(ID)?.chunks, { total: null, done: 0 });
  assert.deepEqual(readdirSync(dirOf(out.path)), []);
  const dead = await drain(vhost.url, QUEUES.partialsDead);
  t.diagnostic(`reasons:\n${dead.map((m) => m.properties.headers?.[HEADERS.reason]).join('\n')}`);
  const reasons = dead.map((m) => [m.properties.messageId, String(m.properties.headers?.[HEADERS.reason]).replace(/\d+(\.\d+)? s\)$/, 'N s)')]);
  assert.deepEqual(reasons, [
    [`${ID}#c${a!.chunk.index}`, `partial: no plan for '${ID}' yet, and the partials without a plan exceed the plotter's orphan budget of 900000 bytes: the oldest go first (this one held N s)`],
    [`default/other/g1#c${huge.chunk.index}`, `partial: no plan for 'default/other/g1' yet, and its ${hugeBody.length} bytes alone exceed the plotter's orphan budget of 900000 bytes`],
    [`${ID}#c${b!.chunk.index}`, `partial: no plan for '${ID}' came within the plotter's orphan time to live of 3 s (held N s)`],
    [`${ID}#c${c!.chunk.index}`, `partial: no plan for '${ID}' came within the plotter's orphan time to live of 3 s (held N s)`],
  ]);
  assert.deepEqual(dead[2]!.content, Buffer.from(JSON.stringify(b)), 'an expired orphan is dead-lettered byte for byte');
});

test('forged partials that come before their plan (another chunk\'s range, another key) are dead-lettered when the plan comes, never stored with it', { timeout: 120_000 }, async (t) => {
  const vhost = await createVhost('orphan-forged');
  const out = tempDir('orphan-forged');
  const address = brokerFromUrl(vhost.url);
  const plotter = await startPlotter({ out: out.path, broker: address, port: null });
  const session = openPublishSession(address, { name: 'test', retry });
  t.after(async () => { await session.close(); await plotter.stop(); await vhost.dispose(); out.dispose(); });
  await plotterReady(plotter);
  const key = drawPartialKey();
  const plan = { ...fx.plan, partialKey: key };
  const work = async (task: Task, signWith: string) => {
    const o = await runWorker(task, { [PARTIAL_KEY_ENV]: signWith }, { publisher: session.publisher });
    assert.equal(o.code, ExitCode.Published, o.message);
  };

  // Two chunks of one sample: the first's real result posing as the second, signed with the right
  // key (an insider); and a third chunk's result signed with another analysis's key.
  const [real, posed] = fx.tasks.filter((task) => task.chunk.sample === 'data_B');
  const third = fx.tasks.find((task) => task.chunk.sample !== 'data_B')!;
  await work({ ...real!, chunk: { ...real!.chunk, index: posed!.chunk.index } }, key);
  await work(third, drawPartialKey());
  await waitUntil('both held as orphans', () => plotter.status(ID)?.chunks.done === 2);

  const e = planEnvelope(plan);
  await session.publisher.publish(e.exchange, e.routingKey, e.body, e.options);
  await waitUntil('both dead-lettered', async () => (await queueDepth(vhost.url, QUEUES.partialsDead)) === 2);
  assert.deepEqual(plotter.status(ID)?.chunks, { total: fx.plan.chunks, done: 0 });
  assert.deepEqual(readdirSync(dirOf(out.path)), [], 'neither is stored under the plan');
  const dead = await drain(vhost.url, QUEUES.partialsDead);
  const reasons = new Map(dead.map((m) => [m.properties.messageId, String(m.properties.headers?.[HEADERS.reason])]));
  assert.match(reasons.get(`${ID}#c${posed!.chunk.index}`) ?? '', /^partial: chunk (\d+) is chunk \1 \(data_B entries 0-50\) \(.*\), the plan's chunk \1 \(data_B entries 50-100\) \(.*\): entryStart, entryStop differ$/);
  assert.equal(reasons.get(`${ID}#c${third.chunk.index}`), `partial: chunk ${third.chunk.index} is not from this analysis: its signature does not match its analysis's key`);

  // The real chunks come: the analysis is complete with the true numbers.
  for (const task of fx.tasks) await work(task, key);
  await plotter.waitForComplete(ID, 60_000);
  assert.deepEqual(histogramsOf(plotter.results(ID)!), histogramsOf(fx.expected));
  assert.equal(await queueDepth(vhost.url, QUEUES.partialsDead), 0);
});
