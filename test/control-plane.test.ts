// Smoke test of the test harness itself: a real etcd + kube-apiserver, driven with real kubectl.
// If this fails, every test built on startControlPlane() fails too, so it checks the basics the
// others rely on: the version, object round trips, and that RBAC actually denies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { KubeClient } from '../operator/kube-client.js';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';

test('control plane: real kube-apiserver with RBAC, driven by kubectl', async (t) => {
  const started = Date.now();
  const cp: ControlPlane = await startControlPlane({ name: 'smoke' });
  t.diagnostic(`control plane at ${cp.server} ready in ${Date.now() - started} ms (dir ${cp.dir})`);
  try {
    const ok = async (args: string[], input?: string): Promise<string> => {
      const res = await cp.kubectl(args, input === undefined ? {} : { input });
      assert.equal(res.code, 0, `kubectl ${args.join(' ')} failed:\n${res.stderr}`);
      return res.stdout;
    };

    await t.test('kubectl version shows the server version', async () => {
      const version = JSON.parse(await ok(['version', '-o', 'json'])) as {
        serverVersion?: { gitVersion?: string };
      };
      assert.match(version.serverVersion?.gitVersion ?? '', /^v1\.\d+\.\d+/);
      t.diagnostic(`server ${version.serverVersion?.gitVersion}`);
    });

    await t.test('namespace and ConfigMap round trip', async () => {
      await ok(['create', 'namespace', 'hzz-smoke']);
      const manifest = JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'hzz-smoke', labels: { app: 'hzz' } },
        data: { luminosity: '10.0', channel: '4mu' },
      });
      await ok(['apply', '-f', '-'], manifest);
      const got = JSON.parse(await ok(['get', 'configmap', 'settings', '-n', 'hzz-smoke', '-o', 'json'])) as {
        data: Record<string, string>;
        metadata: { labels: Record<string, string> };
      };
      assert.deepEqual(got.data, { luminosity: '10.0', channel: '4mu' });
      assert.equal(got.metadata.labels.app, 'hzz');
    });

    await t.test('the server validates objects', async () => {
      const bad = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_A_Valid_Name', namespace: 'hzz-smoke' } });
      const res = await cp.kubectl(['create', '-f', '-'], { input: bad });
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, /invalid/i);
    });

    await t.test('RBAC denies an unprivileged identity and allows the admin', async () => {
      const nobody = await cp.kubectl(['auth', 'can-i', 'create', 'pods', '-n', 'hzz-smoke', '--as=system:serviceaccount:default:nobody']);
      assert.equal(nobody.stdout.trim(), 'no', `stdout=${nobody.stdout} stderr=${nobody.stderr}`);
      assert.notEqual(nobody.code, 0);
      // Impersonation goes through the same authorizer, so a real request is refused too.
      const forbidden = await cp.kubectl(['get', 'configmaps', '-n', 'hzz-smoke', '--as=system:serviceaccount:default:nobody']);
      assert.notEqual(forbidden.code, 0);
      assert.match(forbidden.stderr, /forbidden/i);
      assert.equal((await ok(['auth', 'can-i', 'create', 'pods', '-n', 'hzz-smoke'])).trim(), 'yes');
    });

    await t.test("the operator's client keeps its connection: one TLS handshake, not one per request", async () => {
      const client = KubeClient.load(cp.kubeconfig);
      let connections = 0;
      const count = (): void => void connections++;
      subscribe('net.client.socket', count);
      try {
        for (let i = 0; i < 20; i++) await client.get('/api/v1/namespaces/hzz-smoke/configmaps/settings');
        await client.mergePatch('/api/v1/namespaces/hzz-smoke/configmaps/settings', { data: { channel: '4e' } });
        const got = await client.get<{ data: Record<string, string> }>('/api/v1/namespaces/hzz-smoke/configmaps/settings');
        assert.equal(got.data.channel, '4e');
      } finally {
        unsubscribe('net.client.socket', count);
      }
      assert.equal(connections, 1, `22 sequential requests opened ${connections} connections`);
    });
  } finally {
    await cp.stop();
  }
});
