import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { structuralSchema } from '../operator/api/structural.js';
import { toYaml } from '../operator/api/yaml.js';
import { Informer } from '../operator/informer.js';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, type Query, type WatchEvent } from '../operator/kube-client.js';
import type { ConfigMap, KubeList } from '../operator/kube-types.js';
import { jobName, planConfigMapName } from '../operator/naming.js';
import { OPERATOR_RULES } from '../operator/rbac.js';
import { WorkQueue } from '../operator/work-queue.js';
import { waitUntil } from './support/broker.js';

// The operator's machinery without a cluster: the names it finds its objects by, the work queue,
// the informer, the CRD's schema conversion and YAML, and the RBAC rules its docs list.

test('names: deterministic, at most 63 characters, distinct after hashing', () => {
  assert.equal(jobName('higgs', 3, 12, 0), 'higgs-g3-c12');
  assert.equal(jobName('higgs', 3, 12, 2), 'higgs-g3-c12-a2');
  assert.equal(planConfigMapName('higgs', 3), 'higgs-g3-plan');
  const long = 'a-very-long-analysis-name-that-is-exactly-sixty-three-chars-xyz';
  const names = [jobName(long, 12, 1234, 3), jobName(`${long.slice(0, -1)}w`, 12, 1234, 3)];
  for (const n of names) {
    assert.ok(n.length <= 63, n);
    assert.match(n, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?-g12-c1234-a3$/);
  }
  assert.notEqual(names[0], names[1]);
  assert.equal(jobName(long, 12, 1234, 3), names[0]);
});

test('work queue: one entry per key, one worker per key, nothing lost while a key is busy', async () => {
  const q = new WorkQueue();
  const seen: string[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => { release = r; });
  let calls = 0;
  const running = q.run(2, async (key) => {
    seen.push(key);
    if (key === 'a' && calls++ === 0) await gate;
  });
  q.add('a'); q.add('a'); q.add('b');
  await new Promise((r) => setTimeout(r, 20));
  q.add('a'); // while 'a' is being handled: handled again afterwards, once
  q.add('a');
  release();
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen.sort(), ['a', 'a', 'b']);
  q.shutDown();
  await running;
});

test('work queue: failures are retried with backoff, requeueAfter is honoured', async () => {
  const q = new WorkQueue({ retry: { initialMs: 30, maxMs: 30, budgetMs: Infinity } });
  const times: number[] = [];
  const start = Date.now();
  const running = q.run(1, async () => {
    times.push(Date.now() - start);
    if (times.length === 1) throw new Error('boom');
    if (times.length === 2) return { requeueAfterMs: 40 };
  });
  q.add('k');
  await new Promise((r) => setTimeout(r, 200));
  q.shutDown();
  await running;
  assert.equal(times.length, 3);
  assert.ok(times[1]! >= 15 && times[2]! - times[1]! >= 35, `times ${times.join(', ')}`);
});

test('crd conversion: TypeBox keywords become their structural form; unknown ones are refused', () => {
  assert.deepEqual(structuralSchema({ type: 'number', exclusiveMinimum: 0 }), { type: 'number', minimum: 0, exclusiveMinimum: true });
  assert.deepEqual(structuralSchema({ anyOf: [{ const: 'a', type: 'string' }, { const: 'b', type: 'string' }] }), { type: 'string', enum: ['a', 'b'] });
  assert.deepEqual(structuralSchema({ type: 'object', additionalProperties: false, properties: { x: { type: 'string' } }, required: [] }), { type: 'object', properties: { x: { type: 'string' } } });
  assert.deepEqual(structuralSchema({ type: 'object', patternProperties: { '^(.*)$': { anyOf: [{ type: 'integer' }, { type: 'string' }] } } }), { type: 'object', additionalProperties: { 'x-kubernetes-int-or-string': true } });
  assert.throws(() => structuralSchema({ type: 'object', properties: { x: { oneOf: [] } } }), /#\/properties\/x: keyword 'oneOf'/);
});

test('yaml: strings YAML would misread are quoted', () => {
  assert.equal(
    toYaml({ a: 'true', b: '', c: 'x: y', d: '80', e: [{ k: 1, l: [] }, 'plain text'], f: {}, g: "it's", h: null }),
    'a: "true"\nb: ""\nc: "x: y"\nd: "80"\ne:\n  - k: 1\n    l: []\n  - plain text\nf: {}\ng: "it\'s"\nh: null\n',
  );
});

test('docs/operator.md lists the RBAC rules the operator is tested with', () => {
  const docs = readFileSync(fileURLToPath(new URL('../../docs/operator.md', import.meta.url)), 'utf8');
  assert.ok(docs.includes(toYaml({ rules: OPERATOR_RULES })), 'copy toYaml({ rules: OPERATOR_RULES }) into the RBAC section of docs/operator.md');
});

test('informer: a failed list is retried after a backoff; a watch that expires (410) is replaced by a relist that reports what was missed', async () => {
  const cm = (name: string, resourceVersion: string): ConfigMap => ({ metadata: { name, namespace: 'ns', resourceVersion } });
  const list = (items: ConfigMap[], resourceVersion: string): KubeList<ConfigMap> => ({ metadata: { resourceVersion }, items });
  const lists = [
    () => { throw new Error('connection refused'); },
    () => list([cm('a', '1'), cm('b', '2')], '10'),
    () => list([cm('b', '11'), cm('c', '12')], '20'),
  ];
  const watchedFrom: unknown[] = [];
  const fake = {
    get: async () => lists.shift()!(),
    watch: async (_path: string, query: Query, onEvent: (e: WatchEvent) => void, done: (err?: unknown) => void) => {
      watchedFrom.push(query.resourceVersion);
      if (watchedFrom.length === 1) {
        setTimeout(() => {
          onEvent({ type: 'MODIFIED', object: cm('b', '11') });
          onEvent({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } });
          done();
        }, 5);
      }
      return () => done();
    },
  } as unknown as KubeClient;
  const seen: string[] = [];
  const informer = new Informer<ConfigMap>(fake, { path: '/api/v1/configmaps', resyncMs: 0 }, (type, o) => seen.push(`${type} ${o.metadata.name}`));
  const started = Date.now();
  informer.start();
  await waitUntil('the relist', () => seen.length >= 5, 5_000, 10);
  informer.stop();
  assert.ok(Date.now() - started >= 250, 'the failed list was retried after a pause');
  assert.deepEqual(seen, ['added a', 'added b', 'modified b', 'deleted a', 'added c']);
  assert.deepEqual(watchedFrom, ['10', '20']);
});

test('informer: keeps what its transform returns; an object assumed after a write shows at once, never over a newer copy, never after its deletion', async () => {
  const cm = (name: string, uid: string, data?: Record<string, string>): ConfigMap & { data?: Record<string, string> } =>
    ({ metadata: { name, namespace: 'ns', uid, resourceVersion: '1' }, ...(data ? { data } : {}) });
  let emit: (e: WatchEvent) => void = () => {};
  const fake = {
    get: async () => ({ metadata: { resourceVersion: '10' }, items: [cm('a', 'ua', { big: 'x'.repeat(10_000) })] }),
    watch: async (_path: string, _query: Query, onEvent: (e: WatchEvent) => void, done: (err?: unknown) => void) => {
      emit = onEvent;
      return () => done();
    },
  } as unknown as KubeClient;
  const informer = new Informer<ConfigMap>(fake, { path: '/api/v1/configmaps', resyncMs: 0, transform: (o) => ({ metadata: o.metadata }) }, () => {});
  informer.start();
  await informer.waitForSync();
  await waitUntil('the watch', () => emit.length > 0, 5_000, 10);
  assert.deepEqual(informer.items(), [{ metadata: cm('a', 'ua').metadata }], 'the transform dropped the data');

  informer.assume(cm('b', 'ub', { big: 'y' }));
  assert.deepEqual(informer.items().map((o) => o.metadata.name), ['a', 'b'], 'created, not yet watched: in the cache at once');
  assert.equal('data' in informer.items()[1]!, false, 'assumed objects are transformed too');
  emit({ type: 'MODIFIED', object: { ...cm('b', 'ub'), metadata: { ...cm('b', 'ub').metadata, resourceVersion: '12' } } });
  informer.assume(cm('b', 'ub'));
  assert.equal(informer.items()[1]!.metadata.resourceVersion, '12', 'the watch\'s newer copy is kept');
  informer.assume({ ...cm('b', 'ub'), metadata: { ...cm('b', 'ub').metadata, resourceVersion: '13' } });
  assert.equal(informer.get('ns', 'b')?.metadata.resourceVersion, '13', 'a write\'s answer newer than the watch\'s copy replaces it');

  emit({ type: 'ADDED', object: cm('c', 'uc') });
  emit({ type: 'DELETED', object: cm('c', 'uc') });
  informer.assume(cm('c', 'uc'));
  assert.deepEqual(informer.items().map((o) => o.metadata.name), ['a', 'b'], 'an answer that arrives after the deletion revives nothing');
  informer.stop();
});

test('kube client: a kept connection the server drops as it is reused is replaced, and the request answered', async () => {
  // Every second request on a connection finds it closed, as an API server's idle timeout can race a reuse.
  const served = new Map<Socket, number>();
  const server = createServer((req, res) => {
    const n = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, n);
    if (n === 2) return void req.socket.destroy();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const config = new KubeConfig();
    config.loadFromClusterAndUser({ name: 'local', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }, { name: 'anyone' });
    const client = new KubeClient(config);
    for (let i = 0; i < 4; i++) assert.deepEqual(await client.get('/api/v1/namespaces'), { path: '/api/v1/namespaces' });
    // Four answers over connections that each served one request and dropped the next.
    assert.deepEqual([...served.values()], [2, 2, 2, 1]);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
