import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { EXCHANGES, QUEUES, ROUTING } from '../transport/topology.js';
import { brokerObjects, createVhost, declareTopology, drain, publishRaw, queueDepth } from './support/broker.js';
import { compareHistograms } from './support/histograms-equal.js';
import { CLI, SHARED_DATA } from './support/paths.js';

// Issue 11, point 3 (the local half): two `hzz run --broker` at once on one vhost, with an
// installation's queues on it too, each count their own chunks and nobody else's. Before runs had
// broker objects of their own, both consumed hzz.partials: partials went to the other run's
// plotter, both runs hung (101/174 and 0/174), and the installation's messages were taken too.

const run = promisify(execFile);

test('two hzz run --broker at once on one vhost both give the in-process histograms and leave the installation\'s queues alone', { timeout: 240_000 }, async (t) => {
  const vhost = await createVhost('isolation');
  const out = mkdtempSync(join(tmpdir(), 'hzz-isolation-'));
  t.after(async () => { await vhost.dispose(); rmSync(out, { recursive: true, force: true }); });
  // The vhost of an installation whose plotter is down: its queues, a partial and a plan waiting in them.
  await declareTopology(vhost.url);
  await publishRaw(vhost.url, EXCHANGES.partial, ROUTING.partial, '{"installation": "partial"}');
  await publishRaw(vhost.url, EXCHANGES.plan, ROUTING.plan, '{"installation": "plan"}');

  const args = ['--data', SHARED_DATA, '--samples', 'data,Ztt', '--chunk-size', '250', '--parallel', '2'];
  const hzz = (dir: string, ...more: string[]) => run('node', [CLI, 'run', ...args, '--out', join(out, dir), ...more], { timeout: 180_000 });
  await hzz('plain');
  const [a, b] = await Promise.allSettled([hzz('a', '--broker', vhost.url), hzz('b', '--broker', vhost.url)]);
  assert.deepEqual([a.status, b.status], ['fulfilled', 'fulfilled'], `both runs end with exit 0: ${[a, b].map((r) => r.status === 'rejected' ? String(r.reason) : 'ok').join('; ')}`);

  const doc = (dir: string) => JSON.parse(readFileSync(join(out, dir, 'histograms.json'), 'utf8')) as { complete: boolean; chunks?: unknown };
  for (const dir of ['a', 'b']) {
    assert.equal(doc(dir).complete, true, `run ${dir} is complete`);
    // The analysis id and the wall time differ by design; every number must not.
    assert.deepEqual(compareHistograms(doc(dir), doc('plain'), ['analysis', 'wallSeconds']).differences, [], `run ${dir} equals the in-process run`);
  }
  // The installation's messages are where they were: no run consumed its queues.
  assert.equal(await queueDepth(vhost.url, QUEUES.partials), 1);
  assert.deepEqual((await drain(vhost.url, QUEUES.plans)).map((m) => m.content.toString()), ['{"installation": "plan"}']);
  // And each run removed what it declared: only the installation's objects are left.
  assert.deepEqual(await brokerObjects(vhost.name, 'queues'), Object.values(QUEUES).sort());
  assert.deepEqual(await brokerObjects(vhost.name, 'exchanges'), Object.values(EXCHANGES).sort());
});
