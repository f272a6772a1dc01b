import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { badInput, transient } from '../core/contracts/errors.js';
import { ExitCode, exitCodeFor, failureKindOf } from '../core/contracts/exit-codes.js';
import { sleep } from '../core/util/backoff.js';
import type { Task } from '../core/contracts/messages.js';
import { brokerFromUrl } from '../transport/broker-address.js';
import { openPublishSession } from '../transport/publish-session.js';
import { QUEUES } from '../transport/topology.js';
import { runWorker } from '../worker/run-worker.js';
import { analysisFixture, renamedBranch, tempDir, type Fixture } from './support/analysis-fixture.js';
import { createVhost, declareTopology, drain, queueDepth, withChannel, type TestVhost } from './support/broker.js';
import { runWorkerProcess } from './support/child-process.js';

// The worker's exit status is a contract: the Job's podFailurePolicy never retries 2 and retries 3.
// Bad input must be told apart from a broker that is away, and must publish nothing.

const ID = 'default/higgs/g6';
let fx: Fixture;
let task: Task;

before(async () => {
  fx = await analysisFixture(ID, 500);
  task = fx.tasks.find((t) => t.chunk.sample === 'Zee')!;
});

const withUrl = (url: string): Task => ({ ...task, chunk: { ...task.chunk, url } });

async function brokerWithTopology(t: { after: (fn: () => Promise<void>) => void }, label: string): Promise<TestVhost> {
  const vhost = await createVhost(label);
  t.after(() => vhost.dispose());
  await declareTopology(vhost.url);
  return vhost;
}

test('bad input exits 2 and publishes nothing', { timeout: 60_000 }, async (t) => {
  const vhost = await brokerWithTopology(t, 'bad-input');
  const dir = tempDir('bad-input');
  t.after(async () => dir.dispose());
  const textFile = join(dir.path, 'notes.root');
  writeFileSync(textFile, 'these are notes, not a ROOT file\n'.repeat(20));
  const env = { HZZ_AMQP_URL: vhost.url };
  const cases: [string, unknown, RegExp][] = [
    ['a text file named .root', withUrl(textFile), /not a ROOT file|cannot/],
    ['a missing file', withUrl(join(dir.path, 'missing.root')), /cannot open file|ENOENT|no such file/i],
    ['an entry range past the end of the tree', { ...task, chunk: { ...task.chunk, entryStop: 10_000_000 } }, /entry range/],
    ['a missing branch', { ...task, definition: renamedBranch(task.definition, 'lep_pt', 'lep_pt_nope') }, /no branch 'lep_pt_nope'/],
    ['a missing tree', { ...task, tree: 'nope' }, /no TTree named 'nope'|cannot read tree/],
    ['a task that fails its schema', { ...task, chunk: { ...task.chunk, entryStart: -1 } }, /task: invalid: \/chunk\/entryStart/],
    ['not a task at all', 'hello', /task: invalid/],
  ];
  for (const [what, input, message] of cases) {
    const outcome = await runWorker(input, env);
    assert.equal(outcome.code, ExitCode.BadInput, `${what}: ${outcome.message}`);
    assert.match(outcome.message, message, what);
  }
  assert.equal(await queueDepth(vhost.url, QUEUES.partials), 0, 'nothing was published');
  // The same worker with a good task does publish: the zero above is not an accident of the setup.
  assert.equal(await runWorker(task, env).then((o) => o.code), ExitCode.Published);
  const [m] = await drain(vhost.url, QUEUES.partials);
  assert.equal(JSON.parse(m!.content.toString()).chunk.index, task.chunk.index);
  assert.equal(m!.properties.deliveryMode, 2, 'persistent');
});

test('the worker process: exit 0 published, 2 bad input, 3 unreachable broker', { timeout: 60_000 }, async (t) => {
  const vhost = await brokerWithTopology(t, 'worker-process');
  const dir = tempDir('worker-process');
  t.after(async () => dir.dispose());
  const taskFile = join(dir.path, 'task.json');
  writeFileSync(taskFile, JSON.stringify(task));
  const badFile = join(dir.path, 'bad-task.json');
  writeFileSync(badFile, JSON.stringify(withUrl(join(dir.path, 'missing.root'))));

  // The broker's address in separate variables, as the cluster's Secret provides them.
  const u = new URL(vhost.url);
  const split = { HZZ_AMQP_HOST: u.hostname, HZZ_AMQP_PORT: u.port || '5672', HZZ_AMQP_VHOST: vhost.name, HZZ_AMQP_USER: decodeURIComponent(u.username), HZZ_AMQP_PASSWORD: decodeURIComponent(u.password) };
  const ok = await runWorkerProcess(['--task', taskFile], split);
  assert.equal(ok.code, ExitCode.Published, ok.stderr);
  const viaEnv = await runWorkerProcess([], { HZZ_AMQP_URL: vhost.url, HZZ_TASK: JSON.stringify(task) });
  assert.equal(viaEnv.code, ExitCode.Published, viaEnv.stderr);
  assert.equal(await queueDepth(vhost.url, QUEUES.partials), 2);

  for (const [what, args, env] of [
    ['a task whose file is missing', ['--task', badFile], { HZZ_AMQP_URL: vhost.url }],
    ['a task file that does not exist', ['--task', join(dir.path, 'nope.json')], { HZZ_AMQP_URL: vhost.url }],
    ['HZZ_TASK that is not JSON', [], { HZZ_AMQP_URL: vhost.url, HZZ_TASK: '{task' }],
    ['no task at all', [], { HZZ_AMQP_URL: vhost.url }],
  ] as const) {
    const r = await runWorkerProcess([...args], env);
    assert.equal(r.code, ExitCode.BadInput, `${what}: ${r.stderr}`);
  }
  assert.equal(await queueDepth(vhost.url, QUEUES.partials), 2, 'bad input published nothing');

  // A port nobody listens on: the worker retries for its budget, then reports a transient failure.
  const port = await freePort();
  const down = await runWorkerProcess(['--task', taskFile], { HZZ_AMQP_URL: `amqp://guest:guest@127.0.0.1:${port}`, HZZ_AMQP_RETRY_SECONDS: '2' });
  assert.equal(down.code, ExitCode.Transient, down.stderr);
  assert.ok(down.ms >= 1000 && down.ms < 20_000, `retried for about its 2 s budget, then gave up (${down.ms} ms)`);
  assert.match(down.stderr, /broker not reachable, retrying/);
});

test('a publish whose queue was deleted under it is retried until the plotter declares it again, then delivered', { timeout: 60_000 }, async (t) => {
  const vhost = await brokerWithTopology(t, 'unroutable');
  const session = openPublishSession(brokerFromUrl(vhost.url), { name: 'test', retry: { initialMs: 100, maxMs: 500, budgetMs: 10_000 } });
  t.after(() => session.close());
  assert.equal(await runWorker(task, {}, { publisher: session.publisher }).then((o) => o.code), ExitCode.Published);
  await withChannel(vhost.url, (ch) => ch.deleteQueue(QUEUES.partials));
  // Without the queue the broker returns the message as unroutable: the publish must not count as
  // done. Publishers may not declare (docs/contracts.md), so it waits for the plotter's declaration.
  const published = runWorker(task, {}, { publisher: session.publisher }).then((o) => o.code);
  await sleep(1_000);
  await declareTopology(vhost.url);
  assert.equal(await published, ExitCode.Published);
  assert.equal(await queueDepth(vhost.url, QUEUES.partials), 1);
  assert.ok(session.connection.connects >= 2, 'the unroutable publish dropped the connection and was published again');
});

test('exit codes follow the error kinds', () => {
  assert.equal(exitCodeFor(badInput('x', 'y')), ExitCode.BadInput);
  assert.equal(exitCodeFor(transient('x', 'y')), ExitCode.Transient);
  assert.equal(exitCodeFor(new TypeError('boom')), ExitCode.Crash);
  assert.deepEqual([1, 2, 3, 137].map(failureKindOf), ['crash', 'bad-input', 'transient', 'crash'], 'what an exit status says to the chunk retry rule');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
