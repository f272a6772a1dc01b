// The Helm chart (helm/hzz-operator) against real tools: helm 4's linter and renderer, and a real
// kube-apiserver with real admission (Pod Security "restricted"), schema validation of the CRD and
// the RBAC authorizer. One control plane serves the whole file; docs/helm.md describes the chart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startControlPlane, toolsBin, type ControlPlane } from './harness/control-plane.js';
import { startRabbitNode } from './harness/rabbitmq-node.js';
import { createVhost, declareTopology, queueDepth, withChannel, type TestVhost } from './support/broker.js';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../operator/rbac.js';
import { toPartial } from '../core/analyze-chunk.js';
import { emptyHistogram, MAX_BINS } from '../core/histogram.js';
import { chunkTask, DATA_DIR, DEFINITION } from './support/analysis-fixture.js';

const REPO = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
const CHART = join(REPO, 'helm', 'hzz-operator');
const CRD_FILE = 'hzzanalyses.hzz.opendata.dev.yaml';
const GENERATED_CRD = join(REPO, 'crds', CRD_FILE);
const CHART_CRD = join(CHART, 'crds', CRD_FILE);
const OPERATOR_MAIN = join(REPO, 'dist', 'operator', 'main.js');
const CLI = join(REPO, 'dist', 'cli', 'hzz.js');
// The real 2020 files beside the repository (as test/support/paths.ts finds them).
const SHARED_DATA = process.env.HZZ_TEST_DATA ?? join(REPO, '..', 'shared', 'data');
const VARIANTS: Record<string, string[]> = {
  default: [],
  'external broker': ['-f', join(CHART, 'ci', 'external-broker-values.yaml')],
  'watchNamespace + hostPath data + example': ['-f', join(CHART, 'ci', 'watch-namespace-values.yaml')],
  kind: ['-f', join(REPO, 'helm', 'kind-values.yaml')],
  'test node': ['-f', join(REPO, 'helm', 'kind-values.yaml'), '-f', join(REPO, 'helm', 'test-node-values.yaml'), '--set', 'data.hostPath.path=/data'],
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// Helm keeps caches and a repository list under HOME; a temp dir keeps the test off the user's.
const helmHome = mkdtempSync(join(tmpdir(), 'hzz-helm-'));

function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

function helm(args: string[], cp?: ControlPlane): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  };
  if (cp) {
    env.KUBECONFIG = cp.kubeconfig;
    env.NO_PROXY = env.no_proxy = ['127.0.0.1', 'localhost', process.env.NO_PROXY ?? ''].filter(Boolean).join(',');
  }
  return run(join(toolsBin(), 'helm'), args, { env });
}

async function ok(what: string, result: Promise<Run>): Promise<string> {
  const r = await result;
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  return r.stdout;
}

const template = (release: string, namespace: string, extra: string[] = []): Promise<string> =>
  ok(`helm template ${extra.join(' ')}`, helm(['template', release, CHART, '--namespace', namespace, ...extra]));

// ---------------------------------------------------------------------------------------------
// Hard-coded secrets: what "obvious" means here, for the rendered chart and for the repository.

// A password that only names where the real one goes.
function isPlaceholder(value: string): boolean {
  return /^(\*+|<[^>]*>|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%s|\.\.\.|…|[A-Z][A-Z0-9_-]*|password|pass|secret)$/.test(value);
}

// Built from pieces so that this file does not match its own patterns.
const PEM_PRIVATE_KEY = new RegExp('-----BEGIN [A-Z ]*' + 'PRIVATE KEY-----');
const URL_WITH_CREDENTIALS = /\bamqps?:\/\/([^\s:/@'"`]+):([^\s@'"`]+)@([^\s:/'"`]+)/gi;
// Credential-named keys or variables given a string literal. Not "secret" or "token" alone: those
// usually hold a Secret's *name* (const SECRET = 'hzz-amqp') or a test's generated value.
const SECRET_ASSIGNMENT = /\b(password|passwd|api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?key|auth[_-]?token)["']?\s*[:=]\s*["']([^"'\s]{6,})["']/gi;
// An environment variable named like a credential, with its value in the manifest.
const LITERAL_SECRET_ENV = /name:\s*["']?[A-Z0-9_]*(PASS|PASSWORD|PASSWD|SECRET|TOKEN)["']?\s*\n\s*value:\s*\S+/g;

// Variables that hold the *name* of a Secret (NAME[:KEY], cli/commands/operator.ts), not a secret.
const SECRET_REFERENCES = ['HZZ_WORKER_AMQP_SECRET'];

function findSecretLiterals(text: string): string[] {
  const found: string[] = [];
  if (PEM_PRIVATE_KEY.test(text)) found.push('a PEM private key');
  for (const m of text.matchAll(URL_WITH_CREDENTIALS)) {
    const [all, user, password, host] = m as unknown as [string, string, string, string];
    // RabbitMQ's built-in guest account works from loopback only (loopback_users), so a local
    // test default is no credential to anything else.
    const loopbackGuest = user === 'guest' && password === 'guest' && /^(127\.0\.0\.1|localhost|\[::1\])$/.test(host);
    if (!isPlaceholder(password) && !loopbackGuest) found.push(`credentials in a URL: ${all}`);
  }
  for (const m of text.matchAll(SECRET_ASSIGNMENT)) {
    if (!isPlaceholder(m[2]!)) found.push(`a literal ${m[1]}: ${m[0]}`);
  }
  for (const m of text.matchAll(LITERAL_SECRET_ENV)) {
    if (!SECRET_REFERENCES.some((name) => m[0].includes(name))) found.push(`a secret env variable with a literal value: ${m[0].replace(/\s+/g, ' ')}`);
  }
  return found;
}

// Everything of ours that can hold text: not dependencies, builds, caches or third-party data.
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.cache', 'out', '.venv', '__pycache__', 'reference']);
const TEXT_FILE = /(\.(ts|js|mjs|cjs|json|ya?ml|md|sh|py|tpl|txt|toml|cfg|ini|env)|Dockerfile|\.dockerignore|\.helmignore|NOTES\.txt)$/;

function repoTextFiles(dir = REPO): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) files.push(...repoTextFiles(join(dir, entry.name)));
    } else if (entry.isFile() && TEXT_FILE.test(entry.name) && entry.name !== 'package-lock.json') {
      const path = join(dir, entry.name);
      if (statSync(path).size < 2_000_000) files.push(path);
    }
  }
  return files;
}

// ---------------------------------------------------------------------------------------------

after(() => rmSync(helmHome, { recursive: true, force: true }));

describe('helm chart: offline checks', () => {
  test('the chart ships the generated CRD unchanged (Helm installs crds/ as is)', () => {
    assert.ok(existsSync(GENERATED_CRD), `${relative(REPO, GENERATED_CRD)} is generated (npm run gen:crd)`);
    assert.ok(existsSync(CHART_CRD), `${relative(REPO, CHART_CRD)} is missing: cp crds/${CRD_FILE} helm/hzz-operator/crds/`);
    const [copy, generated] = [readFileSync(CHART_CRD, 'utf8').split('\n'), readFileSync(GENERATED_CRD, 'utf8').split('\n')];
    const line = generated.findIndex((l, i) => copy[i] !== l);
    assert.ok(
      line === -1 && copy.length === generated.length,
      `the chart's CRD differs from the generated one at line ${line === -1 ? generated.length + 1 : line + 1}: ` +
        `cp crds/${CRD_FILE} helm/hzz-operator/crds/`,
    );
  });

  for (const [name, args] of Object.entries(VARIANTS)) {
    test(`helm lint --strict passes: ${name}`, async () => {
      const out = await ok('helm lint', helm(['lint', '--strict', CHART, '--namespace', 'hzz-system', ...args]));
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }

  test('kind-config.yaml mounts ./data where helm/kind-values.yaml expects it', () => {
    const kind = readFileSync(join(REPO, 'kind-config.yaml'), 'utf8');
    assert.match(kind, /^apiVersion: kind\.x-k8s\.io\/v1alpha4$/m);
    assert.match(kind, /- hostPath: \.\/data\n\s+containerPath: \/data\n/);
    const values = readFileSync(join(REPO, 'helm', 'kind-values.yaml'), 'utf8');
    assert.match(values, /hostPath:\n\s+path: \/data\n/);
  });

  test('the chart refuses inconsistent values with a message', async () => {
    const external = await helm(['template', 'hzz', CHART, '--set', 'broker.mode=external']);
    assert.notEqual(external.code, 0);
    assert.match(external.stderr, /broker\.external\.existingSecret is required/);
    const mode = await helm(['template', 'hzz', CHART, '--set', 'broker.mode=kafka']);
    assert.notEqual(mode.code, 0);
    for (const bytes of ['1000000', '1073741824']) {
      const size = await helm(['template', 'hzz', CHART, '--set', `rabbitmq.maxMessageBytes=${bytes}`]);
      assert.notEqual(size.code, 0);
      assert.match(size.stderr, new RegExp(`rabbitmq\\.maxMessageBytes must lie between 4194304 .* not ${bytes}`));
    }
    assert.match(mode.stderr, /broker\.mode must be builtin or external/);
  });

  test('the broker\'s max_message_size takes the largest partial a definition can make, refuses more, and with the prefetch stays within the plotter\'s memory', async () => {
    const rendered = await template('hzz', 'hzz');
    const limit = Number(/^\s*max_message_size = (\d+)$/m.exec(rendered)?.[1]);
    const prefetch = Number(/"--prefetch", "(\d+)"/.exec(rendered)?.[1]);
    const plotter = rendered.split(/^---$/m).find((doc) => /^kind: Deployment$/m.test(doc) && /^ {2}name: hzz-plotter$/m.test(doc)) ?? '';
    const plotterMemory = /limits:[\s\S]*?memory: (\d+)Mi/.exec(plotter)?.[1];
    assert.ok(limit > 0 && prefetch > 0, `max_message_size ${limit}, --prefetch ${prefetch}`);
    assert.ok(plotterMemory, 'the plotter Deployment has a memory limit in Mi');
    assert.ok(prefetch * limit <= (Number(plotterMemory) * 2 ** 20) / 2, `${prefetch} × ${limit} bytes held unacknowledged against the plotter's ${plotterMemory}Mi`);

    // The largest partial: 16 histograms (the schema's most) of MAX_BINS bins, 64 cuts, every number
    // as long as a double prints.
    const binning = { lo: 0, hi: MAX_BINS, width: 1 };
    const h = emptyHistogram(binning, 64, Array.from({ length: 15 }, () => binning));
    for (const bins of [h, ...h.more]) {
      bins.sumw.fill(-Math.PI * 1e-300);
      bins.sumw2.fill(Math.PI * 1e-300);
      bins.entries.fill(2 ** 31);
    }
    h.cutflow.fill(2 ** 31);
    const task = chunkTask(join(DATA_DIR, 'data_A.4lep.root'), { definition: { ...DEFINITION, histograms: Array.from({ length: 16 }, (_, i) => ({ name: `h${i}`, variable: 'lep_pt[0]', binning, label: 'x' })) } });
    const largest = Buffer.from(JSON.stringify({ ...toPartial(task, h), signature: 'f'.repeat(64) }));
    assert.ok(largest.length > 1e6 && largest.length < limit, `the largest partial is ${largest.length} bytes`);

    const node = await startRabbitNode('max-message', [`max_message_size = ${limit}`]);
    const publish = (body: Buffer): Promise<void> => withChannel(node.url, async (ch) => {
      let closedWith: Error | undefined;
      ch.on('error', (err: Error) => (closedWith = err));
      try {
        await ch.assertQueue('partials');
        ch.sendToQueue('partials', body);
        await ch.waitForConfirms();
        // A refused message closes the channel; ask the broker something to see that it did.
        await ch.checkQueue('partials');
      } catch (err) {
        throw closedWith ?? err;
      }
    });
    try {
      await publish(largest);
      await assert.rejects(publish(Buffer.alloc(limit + 1)), new RegExp(`PRECONDITION_FAILED - message size ${limit + 1} is larger than configured max size ${limit}`));
    } finally {
      await node.dispose();
    }
  });

  test('no password is a literal: generated per install, never in values, env or URLs of the chart', async () => {
    const first = await template('hzz', 'hzz-system');
    const second = await template('hzz', 'hzz-system');
    const password = (yaml: string): string => {
      const m = /\n {2}password: "([^"]+)"/.exec(yaml);
      assert.ok(m, 'the broker Secret has a password');
      return Buffer.from(m[1]!, 'base64').toString('utf8');
    };
    const [p1, p2] = [password(first), password(second)];
    assert.match(p1, /^[A-Za-z0-9]{32}$/);
    assert.notEqual(p1, p2, 'two renders drew the same password: it is a literal somewhere');
    // The password appears in the Secret only (base64), never in clear in any other object.
    assert.ok(!first.includes(p1), 'the generated password appears in clear text in the rendered chart');
    // Secrets hold generated values by design (checked above); every other object must hold none.
    for (const args of Object.values(VARIANTS)) {
      const docs = (await template('hzz', 'hzz-system', args)).split(/^---$/m);
      const others = docs.filter((d) => !/^kind: Secret$/m.test(d));
      assert.ok(others.length > 5);
      assert.deepEqual(findSecretLiterals(others.join('\n---\n')), []);
    }
  });

  test('no secret is hard-coded in the repository (code, chart, docs, scripts, Dockerfile)', () => {
    const findings: string[] = [];
    const files = repoTextFiles();
    assert.ok(files.length > 20, `scanned only ${files.length} files`);
    for (const file of files) {
      for (const f of findSecretLiterals(readFileSync(file, 'utf8'))) findings.push(`${relative(REPO, file)}: ${f}`);
    }
    assert.deepEqual(findings, []);
  });

  test('the scan catches what it is meant to catch', () => {
    // Split so that the repository scan above does not find these in this very file.
    const cases = [
      'url: amqp://hzz:' + 's3cr3tpw@rabbit:5672/',
      'const password = ' + "'hunter22';",
      '- name: RABBITMQ_DEFAULT_PASS\n  value: changeme',
      '- name: HZZ_AMQP_PASSWORD\n  value: "x"',
      'api_key: ' + '"0123456789abcdef"',
      '-----BEGIN RSA ' + 'PRIVATE KEY-----',
    ];
    for (const c of cases) assert.ok(findSecretLiterals(c).length > 0, `not caught: ${c}`);
    const fine = [
      'amqp://user:password@host:5672/vhost',
      'amqp://hzz:***@rabbit:5672/hzz',
      'amqp://guest:guest@127.0.0.1:5672',
      'amqp://${USER}:${PASSWORD}@broker',
      '- name: HZZ_AMQP_URL\n  valueFrom:\n    secretKeyRef: {name: x, key: url}',
      "const SECRET = 'hzz-amqp';",
    ];
    for (const c of fine) assert.deepEqual(findSecretLiterals(c), [], c);
  });
});

// ---------------------------------------------------------------------------------------------

describe('helm chart: against a real kube-apiserver', () => {
  let cp: ControlPlane;
  const NS = 'hzz-system';
  const SCOPED_NS = 'hzz-scoped';
  const WATCHED_NS = 'hzz-analyses';

  let chunkPodTemplate: { metadata: object; spec: object } | undefined;
  const kubectl = async (args: string[], input?: string): Promise<string> =>
    ok(`kubectl ${args.join(' ')}`, cp.kubectl(args, input === undefined ? {} : { input }));

  before(async () => {
    assert.ok(existsSync(CHART_CRD), `${relative(REPO, CHART_CRD)} is missing: the chart must ship the CRD`);
    cp = await startControlPlane({ name: 'helm-chart' });
    await kubectl(['apply', '--server-side', '-f', CHART_CRD]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=30s', 'crd/hzzanalyses.hzz.opendata.dev']);
    // Pods in these namespaces must meet the restricted Pod Security Standard: enforced for Pods,
    // and reported as warnings for the pod templates of Deployments and StatefulSets.
    for (const ns of [NS, SCOPED_NS, WATCHED_NS, 'dry-run']) {
      await kubectl(['create', 'namespace', ns]);
      await kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted']);
    }
  });
  after(async () => {
    await cp?.stop();
  });

  for (const [name, args] of Object.entries(VARIANTS)) {
    test(`helm template passes a server-side dry run, restricted pods included: ${name}`, async () => {
      const rendered = await template('hzz', 'dry-run', args);
      const res = await cp.kubectl(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], { input: rendered });
      assert.equal(res.code, 0, res.stderr);
      assert.doesNotMatch(res.stderr, /would violate PodSecurity/, res.stderr);
      // The workloads' pod templates as real Pods: PodSecurity enforces on Pods only.
      const list = JSON.parse(res.stdout) as { items: K8sObject[] };
      const templates = list.items.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
      assert.ok(templates.length >= 2);
      for (const w of templates) {
        const spec = w.spec as { template: { metadata: object; spec: { volumes?: object[] } }; volumeClaimTemplates?: { metadata: { name: string } }[] };
        const podSpec = { ...spec.template.spec };
        // A StatefulSet's claims become volumes of its pods only through its controller.
        for (const claim of spec.volumeClaimTemplates ?? []) {
          podSpec.volumes = [...(podSpec.volumes ?? []), { name: claim.metadata.name, persistentVolumeClaim: { claimName: `${claim.metadata.name}-${w.metadata.name}-0` } }];
        }
        const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...spec.template.metadata, name: `${w.metadata.name}-probe`, namespace: 'dry-run' }, spec: podSpec };
        const created = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod) });
        assert.equal(created.code, 0, `${w.kind}/${w.metadata.name}'s pod is refused:\n${created.stderr}`);
        assert.doesNotMatch(created.stderr, /violate/);
      }
    });
  }

  test('the example analyses of the walkthrough are valid HZZAnalyses', async () => {
    const dir = join(REPO, 'helm', 'examples');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const res = await cp.kubectl(['apply', '--dry-run=server', '-n', NS, '-f', join(dir, file)]);
      assert.equal(res.code, 0, `${file}: ${res.stderr}`);
      assert.match(res.stdout, /hzzanalysis\.hzz\.opendata\.dev\/higgs created \(server dry run\)/);
    }
  });

  test('helm install creates every object of the chart', async () => {
    await ok('helm install', helm(['install', 'hzz', CHART, '--namespace', NS, '--set', 'example.enabled=true'], cp));
    const names = await objectsOf('hzz', NS);
    assert.deepEqual(names, [
      `ClusterRole/${NS}-hzz-operator`,
      `ClusterRoleBinding/${NS}-hzz-operator`,
      'ConfigMap/hzz-system/hzz-rabbitmq-config',
      'Deployment/hzz-system/hzz-operator',
      'Deployment/hzz-system/hzz-plotter',
      'HZZAnalysis/hzz-system/higgs',
      // On by default (values.yaml networkPolicy.enabled).
      'NetworkPolicy/hzz-system/hzz-chunk-pods',
      'NetworkPolicy/hzz-system/hzz-default-deny',
      'NetworkPolicy/hzz-system/hzz-plotter',
      'NetworkPolicy/hzz-system/hzz-rabbitmq',
      'PersistentVolumeClaim/hzz-system/hzz-plotter-results',
      'Role/hzz-system/hzz-operator-leader-election',
      'RoleBinding/hzz-system/hzz-operator-leader-election',
      'Secret/hzz-system/hzz-partial-master-key',
      'Secret/hzz-system/hzz-rabbitmq',
      'Service/hzz-system/hzz-plotter',
      'Service/hzz-system/hzz-rabbitmq',
      'Service/hzz-system/hzz-rabbitmq-headless',
      'ServiceAccount/hzz-system/hzz-operator',
      'ServiceAccount/hzz-system/hzz-plotter',
      'ServiceAccount/hzz-system/hzz-rabbitmq',
      'ServiceAccount/hzz-system/hzz-worker',
      'StatefulSet/hzz-system/hzz-rabbitmq',
    ]);
    // Everything Helm says it installed is there, and nothing it installed is missing from above.
    const manifest = await ok('helm get manifest', helm(['get', 'manifest', 'hzz', '--namespace', NS], cp));
    const kinds = [...manifest.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]).sort();
    assert.deepEqual(kinds, names.map((n) => n.split('/')[0]).sort());

    const operator = JSON.parse(await kubectl(['get', 'deployment', 'hzz-operator', '-n', NS, '-o', 'json'])) as K8sObject;
    const pod = (operator.spec as { template: { spec: PodSpec } }).template.spec;
    assert.equal(pod.serviceAccountName, 'hzz-operator');
    assert.equal(pod.containers[0]!.args?.[0], 'operator');
    const env = Object.fromEntries(pod.containers[0]!.env.map((e) => [e.name, e]));
    assert.deepEqual(env.HZZ_AMQP_URL?.valueFrom, { secretKeyRef: { name: 'hzz-rabbitmq', key: 'operator-url' } }, 'the operator connects as its own broker user');
    // The names `hzz operator` reads (cli/commands/operator.ts).
    assert.equal(env.HZZ_WORKER_SERVICE_ACCOUNT?.value, 'hzz-worker');
    assert.equal(env.HZZ_WORKER_IMAGE?.value, 'hzz-operator:0.1.0');
    assert.equal(env.HZZ_PLOTTER_URL?.value, 'http://hzz-plotter.hzz-system.svc:8080', 'completion comes from this release\'s plotter Service');
    assert.equal(env.HZZ_WORKER_AMQP_SECRET?.value, 'hzz-rabbitmq:worker-url', 'chunk pods connect as the workers\' broker user');
    assert.deepEqual(env.HZZ_PARTIAL_MASTER_KEY?.valueFrom, { secretKeyRef: { name: 'hzz-partial-master-key', key: 'master-key' } }, 'the master key from the chart\'s Secret, never inline');
    const masterKey = JSON.parse(await kubectl(['get', 'secret', 'hzz-partial-master-key', '-n', NS, '-o', 'json'])) as { data: Record<string, string> };
    assert.match(Buffer.from(masterKey.data['master-key'] ?? '', 'base64').toString(), /^[A-Za-z0-9]{64}$/);
    // No other pod of the chart gets it.
    for (const w of ['deployment/hzz-plotter', 'statefulset/hzz-rabbitmq']) {
      assert.ok(!(await kubectl(['get', w, '-n', NS, '-o', 'json'])).includes('hzz-partial-master-key'), `${w} references the master key`);
    }
    assert.equal(env.HZZ_OPERATOR_NAMESPACE, undefined, 'HZZ_OPERATOR_NAMESPACE would limit the operator to one namespace');
    // Leader election, with the Lease in the pod's own namespace: replicas may roll over one another.
    assert.equal(env.HZZ_LEADER_ELECT?.value, 'true');
    assert.deepEqual(env.HZZ_POD_NAMESPACE?.valueFrom, { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } });
    assert.equal((operator.spec as { strategy: { type: string } }).strategy.type, 'RollingUpdate');

    const worker = JSON.parse(await kubectl(['get', 'serviceaccount', 'hzz-worker', '-n', NS, '-o', 'json'])) as { automountServiceAccountToken?: boolean };
    assert.equal(worker.automountServiceAccountToken, false);

    const secret = JSON.parse(await kubectl(['get', 'secret', 'hzz-rabbitmq', '-n', NS, '-o', 'json'])) as { data: Record<string, string> };
    const field = (key: string): string => Buffer.from(secret.data[key] ?? '', 'base64').toString();
    // Each component has a user of its own; the administrator's URL is nowhere (test/broker-users.test.ts holds the users to their rights).
    for (const c of ['operator', 'plotter', 'worker']) {
      assert.equal(field(`${c}-url`), `amqp://hzz-${c}:${field(`${c}-password`)}@hzz-rabbitmq.${NS}.svc:5672/hzz`);
    }
    assert.equal(secret.data.url, undefined);
    const definitions = JSON.parse(field('definitions.json')) as { users: { name: string; password: string; tags: string }[] };
    assert.deepEqual(definitions.users.map((u) => [u.name, u.tags, u.password === field(u.name === 'hzz' ? 'password' : `${u.name.slice(4)}-password`)]),
      [['hzz', 'administrator', true], ['hzz-operator', '', true], ['hzz-plotter', '', true], ['hzz-worker', '', true]]);
  });

  // Helm never upgrades crds/; docs/helm.md tells users to apply them. Helm 4 installed the CRD with
  // server-side apply as field manager "helm", so a changed field conflicts without --force-conflicts.
  test('the documented CRD upgrade command upgrades the CRD that Helm installed', async () => {
    const crd = readFileSync(CHART_CRD, 'utf8');
    const marker = 'Entries per chunk (one Job each)';
    assert.ok(crd.includes(marker), 'the CRD text this test edits is gone: pick another description');
    const dir = join(cp.dir, 'crds-next');
    mkdirSync(dir);
    writeFileSync(join(dir, CRD_FILE), crd.replace(marker, 'Entries per chunk, one Job each (next version)'));
    const upgrade = ['apply', '--server-side', '--force-conflicts', '-f', dir];
    await kubectl(upgrade);
    const served = await kubectl(['get', 'crd', 'hzzanalyses.hzz.opendata.dev', '-o', 'json']);
    assert.ok(served.includes('(next version)'));
    // A later upgrade by the same command, back to the chart's own CRD.
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(CHART, 'crds')]);
    assert.ok(!(await kubectl(['get', 'crd', 'hzzanalyses.hzz.opendata.dev', '-o', 'json'])).includes('(next version)'));
  });

  test('helm upgrade keeps every generated broker password and the partial master key (lookup)', async () => {
    // The whole Secrets: the four passwords, the URLs and the definitions made from them; the master key.
    const read = async (name: string): Promise<Record<string, string>> =>
      (JSON.parse(await kubectl(['get', 'secret', name, '-n', NS, '-o', 'json'])) as { data: Record<string, string> }).data;
    const secrets = ['hzz-rabbitmq', 'hzz-partial-master-key'];
    const before = await Promise.all(secrets.map(read));
    await ok('helm upgrade', helm(['upgrade', 'hzz', CHART, '--namespace', NS, '--set', 'example.enabled=true', '--set', 'plotter.prefetch=8'], cp));
    assert.deepEqual(await Promise.all(secrets.map(read)), before);
  });

  test('watchNamespace installs a Role in the watched namespace and nothing cluster-wide but the data volumes', async () => {
    await ok('helm install', helm(['install', 'scoped', CHART, '--namespace', SCOPED_NS, '-f', join(CHART, 'ci', 'watch-namespace-values.yaml')], cp));
    const names = await objectsOf('scoped', SCOPED_NS, [WATCHED_NS]);
    for (const expected of [
      `Role/${WATCHED_NS}/scoped-operator`,
      `RoleBinding/${WATCHED_NS}/scoped-operator`,
      `Role/${SCOPED_NS}/scoped-operator-leader-election`,
      `RoleBinding/${SCOPED_NS}/scoped-operator-leader-election`,
      `ServiceAccount/${WATCHED_NS}/scoped-worker`,
      `Secret/${WATCHED_NS}/scoped-rabbitmq`,
      // One claim for the operator (its namespace), one for the chunk pods (theirs), one volume each.
      `PersistentVolumeClaim/${SCOPED_NS}/scoped-data`,
      `PersistentVolumeClaim/${WATCHED_NS}/scoped-data`,
      `PersistentVolume/${SCOPED_NS}-scoped-data`,
      `PersistentVolume/${WATCHED_NS}-scoped-data`,
      `HZZAnalysis/${WATCHED_NS}/higgs`,
      `NetworkPolicy/${SCOPED_NS}/scoped-rabbitmq`,
      `NetworkPolicy/${SCOPED_NS}/scoped-default-deny`,
      `NetworkPolicy/${SCOPED_NS}/scoped-plotter`,
      `NetworkPolicy/${WATCHED_NS}/scoped-chunk-pods`,
    ]) {
      assert.ok(names.includes(expected), `${expected} missing from:\n${names.join('\n')}`);
    }
    assert.deepEqual(names.filter((n) => /^Cluster/.test(n)), []);
    // The copy for the chunk pods holds the workers' URL, the same as the original's, and nothing else.
    const data = async (ns: string): Promise<Record<string, string>> =>
      (JSON.parse(await kubectl(['get', 'secret', 'scoped-rabbitmq', '-n', ns, '-o', 'json'])) as { data: Record<string, string> }).data;
    const [copy, original] = [await data(WATCHED_NS), await data(SCOPED_NS)];
    assert.deepEqual(copy, { 'worker-url': original['worker-url'] });
  });

  // operator/rbac.ts is the operator's own list of the calls it makes (docs/operator.md); the chart
  // writes its rules by hand in templates/_helpers.tpl, so this is where the two must agree.
  test('the chart grants the operator exactly the rules of operator/rbac.ts, as ClusterRole and as Role, and the Lease rules in its namespace', async () => {
    type Rule = { apiGroups?: readonly string[]; resources?: readonly string[]; verbs: readonly string[]; resourceNames?: readonly string[] };
    // One line per (group, resource), verbs sorted: equal sets of permissions compare equal.
    const flat = (rules: readonly Rule[]): string[] =>
      rules.flatMap((r) => (r.apiGroups ?? []).flatMap((g) => (r.resources ?? []).map((res) => `${g}/${res}: ${[...r.verbs].sort().join(',')}${r.resourceNames ? ` ${r.resourceNames.join(',')}` : ''}`))).sort();
    const want = flat(OPERATOR_RULES);
    const cluster = JSON.parse(await kubectl(['get', 'clusterrole', `${NS}-hzz-operator`, '-o', 'json'])) as { rules: Rule[] };
    assert.deepEqual(flat(cluster.rules), want);
    const role = JSON.parse(await kubectl(['get', 'role', 'scoped-operator', '-n', WATCHED_NS, '-o', 'json'])) as { rules: Rule[] };
    assert.deepEqual(flat(role.rules), want);
    for (const [name, ns] of [['hzz', NS], ['scoped', SCOPED_NS]] as const) {
      const lease = JSON.parse(await kubectl(['get', 'role', `${name}-operator-leader-election`, '-n', ns, '-o', 'json'])) as { rules: Rule[] };
      assert.deepEqual(flat(lease.rules), flat(LEADER_ELECTION_RULES));
    }
  });

  // kubectl auth can-i asks the apiserver's own authorizer (a SelfSubjectAccessReview under
  // impersonation), so these are the answers the operator would get in a cluster.
  const can = async (sa: string, verb: string, resource: string, ns: string | null, extra: string[] = []): Promise<boolean> => {
    const args = ['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${sa}`, ...(ns === null ? ['--all-namespaces'] : ['-n', ns]), ...extra];
    const res = await cp.kubectl(args);
    const answer = res.stdout.trim();
    assert.ok(answer === 'yes' || answer.startsWith('no'), `kubectl ${args.join(' ')}: ${res.stdout} ${res.stderr}`);
    return answer === 'yes';
  };
  type Check = [verb: string, resource: string, ns: string | null, extra?: string[]];
  const expectAll = async (sa: string, allowed: boolean, checks: Check[]): Promise<void> => {
    const answers = await Promise.all(checks.map(([verb, resource, ns, extra]) => can(sa, verb, resource, ns, extra)));
    const wrong = checks.filter((_, i) => answers[i] !== allowed).map(([v, r, ns, x]) => `${v} ${r}${x ? ' ' + x.join(' ') : ''} in ${ns ?? 'all namespaces'}`);
    assert.deepEqual(wrong, [], `${sa} ${allowed ? 'should be allowed' : 'should be denied'}:`);
  };
  const HZZ = 'hzzanalyses.hzz.opendata.dev';

  // The operator's API calls (operator/kube-adapter.ts and the informers of operator/controller.ts).
  const operatorNeeds = (ns: string | null): Check[] => [
    ['get', HZZ, ns], ['list', HZZ, ns], ['watch', HZZ, ns],
    ['patch', HZZ, ns, ['--subresource=status']], ['update', HZZ, ns, ['--subresource=finalizers']],
    ['create', 'jobs.batch', ns], ['delete', 'jobs.batch', ns], ['list', 'jobs.batch', ns], ['watch', 'jobs.batch', ns],
    ['list', 'pods', ns],
    ['create', 'configmaps', ns], ['list', 'configmaps', ns], ['watch', 'configmaps', ns], ['patch', 'configmaps', ns], ['delete', 'configmaps', ns],
    ['create', 'events.events.k8s.io', ns],
    // Each analysis's partial key Secret (operator/partial-key.ts).
    ['get', 'secrets', ns], ['create', 'secrets', ns], ['delete', 'secrets', ns],
  ];
  const leaseNeeds = (ns: string): Check[] => ['get', 'create', 'update'].map((verb): Check => [verb, 'leases.coordination.k8s.io', ns]);

  test('the operator (all namespaces) may do what it needs, in any namespace', async () => {
    await expectAll(`${NS}:hzz-operator`, true, [...operatorNeeds('default'), ...operatorNeeds(WATCHED_NS), ...operatorNeeds(null), ...leaseNeeds(NS)]);
  });

  test('the operator (all namespaces) may do nothing more', async () => {
    await expectAll(`${NS}:hzz-operator`, false, [
      ['create', HZZ, 'default'], ['delete', HZZ, 'default'], ['deletecollection', HZZ, 'default'], ['update', HZZ, 'default'], ['patch', HZZ, 'default'],
      ['update', HZZ, 'default', ['--subresource=status']], ['update', HZZ, 'default', ['--subresource=scale']], ['patch', HZZ, 'default', ['--subresource=scale']],
      // Secrets by name only: never a list or a watch, which would hand it every Secret's content; never an edit.
      ['list', 'secrets', NS], ['list', 'secrets', null], ['watch', 'secrets', null], ['update', 'secrets', 'default'], ['patch', 'secrets', 'default'],
      ['deletecollection', 'secrets', 'default'],
      ['create', 'pods', 'default'], ['get', 'pods', 'default'], ['delete', 'pods', 'kube-system'], ['delete', 'pods', 'default'],
      ['create', 'pods', 'default', ['--subresource=exec']], ['get', 'pods', 'default', ['--subresource=log']],
      ['update', 'jobs.batch', 'default'], ['patch', 'jobs.batch', 'default'], ['patch', 'jobs.batch', 'default', ['--subresource=status']],
      ['deletecollection', 'jobs.batch', 'default'], ['create', 'cronjobs.batch', 'default'], ['create', 'deployments.apps', 'default'],
      ['get', 'configmaps', 'default'], ['update', 'configmaps', 'default'], ['deletecollection', 'configmaps', 'default'],
      ['create', 'events', 'default'], ['get', 'events.events.k8s.io', 'default'], ['delete', 'events.events.k8s.io', 'default'],
      ['create', 'leases.coordination.k8s.io', 'default'], ['delete', 'leases.coordination.k8s.io', NS], ['list', 'leases.coordination.k8s.io', NS],
      ['create', 'serviceaccounts', NS, ['--subresource=token']], ['create', 'serviceaccounts', NS],
      ['create', 'clusterroles.rbac.authorization.k8s.io', null], ['create', 'rolebindings.rbac.authorization.k8s.io', 'default'],
      ['bind', 'clusterroles.rbac.authorization.k8s.io', null], ['escalate', 'roles.rbac.authorization.k8s.io', 'default'],
      ['impersonate', 'serviceaccounts', NS], ['update', 'customresourcedefinitions.apiextensions.k8s.io', null],
      ['get', 'nodes', null], ['create', 'namespaces', null], ['delete', 'persistentvolumeclaims', NS], ['get', 'persistentvolumes', null],
    ]);
  });

  test('the operator with watchNamespace has its rights in that namespace only', async () => {
    const sa = `${SCOPED_NS}:scoped-operator`;
    await expectAll(sa, true, [...operatorNeeds(WATCHED_NS), ...leaseNeeds(SCOPED_NS)]);
    await expectAll(sa, false, [
      ['list', HZZ, null], ['list', HZZ, 'default'], ['list', HZZ, SCOPED_NS], ['watch', 'jobs.batch', null],
      ['create', 'jobs.batch', 'default'], ['create', 'jobs.batch', SCOPED_NS], ['list', 'pods', NS], ['create', 'configmaps', 'default'],
      ['create', 'events.events.k8s.io', 'default'], ['create', 'leases.coordination.k8s.io', WATCHED_NS],
      ['list', 'secrets', WATCHED_NS], ['get', 'secrets', SCOPED_NS], ['create', 'secrets', 'default'],
    ]);
  });

  test('the worker, plotter and broker accounts can do nothing with the API', async () => {
    const nothing: Check[] = [
      ['get', 'pods', NS], ['list', 'pods', NS], ['create', 'jobs.batch', NS], ['get', 'configmaps', NS], ['get', 'secrets', NS],
      ['list', HZZ, NS], ['patch', HZZ, NS, ['--subresource=status']], ['create', 'events', NS], ['get', 'services', NS],
      ['create', 'leases.coordination.k8s.io', NS], ['list', 'namespaces', null], ['get', 'nodes', null],
    ];
    await expectAll(`${NS}:hzz-worker`, false, nothing);
    await expectAll(`${NS}:hzz-plotter`, false, nothing);
    await expectAll(`${NS}:hzz-rabbitmq`, false, nothing);
    await expectAll(`${WATCHED_NS}:scoped-worker`, false, nothing.map(([v, r, ns, x]) => [v, r, ns === NS ? WATCHED_NS : ns, x] as Check));
  });

  test('helm uninstall removes the release but keeps the broker Secret, the partial master key and the results PVC', async () => {
    await ok('helm uninstall', helm(['uninstall', 'hzz', '--namespace', NS], cp));
    const left = await objectsOf('hzz', NS);
    assert.deepEqual(left, ['PersistentVolumeClaim/hzz-system/hzz-plotter-results', 'Secret/hzz-system/hzz-partial-master-key', 'Secret/hzz-system/hzz-rabbitmq']);
    // A new install of the same release adopts them, and keeps the password RabbitMQ's data knows
    // and the master key the plotter's stored plans were signed under.
    const kept = (): Promise<string[]> => Promise.all([['hzz-rabbitmq', 'password'], ['hzz-partial-master-key', 'master-key']]
      .map(([name, key]) => kubectl(['get', 'secret', name!, '-n', NS, '-o', `jsonpath={.data.${key}}`])));
    const before = await kept();
    await ok('helm install again', helm(['install', 'hzz', CHART, '--namespace', NS], cp));
    assert.deepEqual(await kept(), before);
  });

  // The operator as the chart runs it: the chart's ServiceAccount (a real token from the TokenRequest
  // API, so every call goes through the RBAC above), the chart's worker account and broker Secret,
  // a data PVC. No kubelet runs here, so the Jobs are created but never start.
  test('the operator, with the chart\'s ServiceAccount token, reconciles an analysis into chunk Jobs', async () => {
    assert.ok(existsSync(OPERATOR_MAIN), 'dist/operator is built');
    assert.ok(existsSync(join(SHARED_DATA, 'data_A.4lep.root')), `ROOT files in ${SHARED_DATA}`);
    const vhost: TestVhost = await createVhost('helm-e2e');
    // The plotter owns the topology (publishers may not declare); this test stands in for it.
    await declareTopology(vhost.url);
    const token = (await kubectl(['create', 'token', 'hzz-operator', '-n', NS, '--duration=10m'])).trim();
    const admin = JSON.parse(readFileSync(cp.kubeconfig, 'utf8')) as { clusters: unknown[] };
    const kubeconfig = join(cp.dir, 'operator.kubeconfig');
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', clusters: admin.clusters, 'current-context': 'operator',
      users: [{ name: 'operator', user: { token } }],
      contexts: [{ name: 'operator', context: { cluster: 'hzz-test', user: 'operator' } }],
    }), { mode: 0o600 });
    // What the chart's Deployment sets (templates/operator.yaml), the data PVC standing for kind's /data.
    const deployment = JSON.parse(await kubectl(['get', 'deployment', 'hzz-operator', '-n', NS, '-o', 'json'])) as K8sObject;
    const chartEnv = Object.fromEntries(
      (deployment.spec as { template: { spec: PodSpec } }).template.spec.containers[0]!.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
    );
    // The one env the chart takes from a Secret that the operator needs here, resolved as the kubelet would.
    const masterKey = Buffer.from(await kubectl(['get', 'secret', 'hzz-partial-master-key', '-n', NS, '-o', 'jsonpath={.data.master-key}']), 'base64').toString();
    const operator = spawn(process.execPath, [CLI, 'operator', '--kubeconfig', kubeconfig, '--health-port', '0', '--data-pvc', `atlas-data=${SHARED_DATA}`], {
      // HZZ_POD_*: what the downward API gives the chart's pod.
      env: { ...process.env, ...chartEnv, HZZ_POD_NAME: 'hzz-operator-7d9f', HZZ_POD_NAMESPACE: NS, HZZ_AMQP_URL: vhost.url, HZZ_PARTIAL_MASTER_KEY: masterKey, HZZ_RETRY_BACKOFF_SECONDS: '1', NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    operator.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
    operator.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    try {
      await kubectl(['apply', '-f', '-'], JSON.stringify({
        apiVersion: 'hzz.opendata.dev/v1alpha1', kind: 'HZZAnalysis', metadata: { name: 'e2e', namespace: NS },
        spec: { release: 'atlas-2020-4lep', samples: ['data'], source: { pvc: 'atlas-data' }, chunkSize: 2000, parallelism: 2 },
      }));
      const jobs = async (): Promise<K8sObject[]> =>
        (JSON.parse(await kubectl(['get', 'jobs', '-n', NS, '-l', 'hzz.opendata.dev/analysis=e2e', '-o', 'json'])) as { items: K8sObject[] }).items;
      const status = async (): Promise<{ phase?: string; chunks?: { total: number } }> =>
        ((JSON.parse(await kubectl(['get', 'hzz', 'e2e', '-n', NS, '-o', 'json'])) as { status?: object }).status ?? {}) as { phase?: string; chunks?: { total: number } };
      await waitUntil('two chunk Jobs', async () => (await jobs()).length === 2, () => log);
      const st = await status();
      assert.ok((st.chunks?.total ?? 0) > 2, `status: ${JSON.stringify(st)}`);
      assert.match(st.phase ?? '', /^(Pending|Running)$/);

      const job = (await jobs())[0]!;
      chunkPodTemplate = (job.spec as { template: { metadata: object; spec: object } }).template;
      const pod = (job.spec as { template: { spec: PodSpec & { automountServiceAccountToken?: boolean; volumes?: { persistentVolumeClaim?: { claimName: string } }[] } } }).template.spec;
      assert.equal(pod.serviceAccountName, 'hzz-worker');
      assert.equal(pod.automountServiceAccountToken, false);
      const container = pod.containers[0]!;
      assert.equal((container as { image?: string }).image, 'hzz-operator:0.1.0');
      assert.deepEqual(container.env.find((e) => e.name === 'HZZ_AMQP_URL')?.valueFrom, { secretKeyRef: { name: 'hzz-rabbitmq', key: 'worker-url' } });
      // The analysis's partial key, made by the operator under the chart's RBAC, derived from the chart's master key.
      assert.deepEqual(container.env.find((e) => e.name === 'HZZ_PARTIAL_KEY')?.valueFrom, { secretKeyRef: { name: 'e2e-partial-key', key: 'key' } });
      const keySecret = JSON.parse(await kubectl(['get', 'secret', 'e2e-partial-key', '-n', NS, '-o', 'json'])) as { data: Record<string, string>; metadata: { ownerReferences?: { kind: string; name: string; uid: string }[] } };
      const uid = await kubectl(['get', 'hzz', 'e2e', '-n', NS, '-o', 'jsonpath={.metadata.uid}']);
      assert.deepEqual(keySecret.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid]), [['HZZAnalysis', 'e2e', uid]]);
      assert.equal(Buffer.from(keySecret.data.key ?? '', 'base64').toString(), createHmac('sha256', masterKey).update(uid).digest('hex'));
      assert.equal(pod.volumes?.[0]?.persistentVolumeClaim?.claimName, 'atlas-data');
      // The plan went to the broker before any Job (docs/pipeline.md); no plotter consumes it here.
      assert.equal(await queueDepth(vhost.url, 'hzz.plans'), 1);

      // kubectl scale goes through the /scale subresource; the operator starts more Jobs.
      await kubectl(['scale', 'hzz/e2e', '-n', NS, '--replicas=3']);
      await waitUntil('a third chunk Job after kubectl scale', async () => (await jobs()).length === 3, () => log);
      assert.doesNotMatch(log, /forbidden/i, 'the operator was refused an API call:\n' + log);
      // It led through the chart's Lease rules, and gives the Lease up when it stops.
      const holder = async (): Promise<string> => kubectl(['get', 'lease', 'hzz-operator', '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}']);
      assert.match(await holder(), /^hzz-operator-7d9f_[0-9a-f]{8}$/);
      operator.kill('SIGTERM');
      await new Promise((resolve) => (operator.exitCode !== null ? resolve(null) : operator.once('exit', resolve)));
      assert.equal(operator.exitCode, 0, log);
      assert.equal(await holder(), '');
    } finally {
      operator.kill('SIGTERM');
      await new Promise((resolve) => (operator.exitCode !== null ? resolve(null) : operator.once('exit', resolve)));
      await kubectl(['delete', 'hzz', 'e2e', '-n', NS, '--wait=false']).catch(() => '');
      await vhost.dispose();
    }
  });

  // The chunk pods come from the operator (operator/job-spec.ts), not from the chart; the chart's
  // namespaces may enforce the restricted level, so those pods must meet it too.
  test('chunk pods made by the operator meet the restricted Pod Security level', async () => {
    assert.ok(chunkPodTemplate, 'the operator test above captured a chunk pod');
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'chunk-probe', namespace: 'dry-run' }, spec: chunkPodTemplate.spec };
    const res = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod) });
    assert.equal(res.code, 0, res.stderr);
  });

  // No CNI here enforces NetworkPolicies (nor does the test node's bridge plugin): what can be held
  // is that the real API server accepted them (helm install above) and that each selector picks
  // the pods it is meant for. No controller runs, so the pods are made here from the release's own
  // pod templates' labels and the chunk Job's (a bare restricted pod: the labels are what counts).
  test('the NetworkPolicies select the pods they are for, and only those', async () => {
    assert.ok(chunkPodTemplate, 'the operator test above captured a chunk pod');
    const templates: [string, { metadata: object }][] = [['chunk', chunkPodTemplate]];
    for (const w of ['deployment/hzz-operator', 'deployment/hzz-plotter', 'statefulset/hzz-rabbitmq']) {
      const o = JSON.parse(await kubectl(['get', w, '-n', NS, '-o', 'json'])) as { spec: { template: { metadata: object } } };
      templates.push([w.split('-').pop()!, o.spec.template]);
    }
    const spec = {
      securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'c', image: 'hzz-operator:0.1.0', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    };
    for (const [name, t] of templates) {
      await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { ...t.metadata, name: `np-${name}`, namespace: NS }, spec }));
    }
    type Selector = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string }[] };
    const podsOf = async (sel: Selector): Promise<string[]> => {
      const terms = [...Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`), ...(sel.matchExpressions ?? []).map((e) => (assert.equal(e.operator, 'Exists'), e.key))];
      const list = JSON.parse(await kubectl(['get', 'pods', '-n', NS, '-l', terms.join(','), '-o', 'json'])) as { items: K8sObject[] };
      return list.items.map((p) => p.metadata.name).filter((n) => n.startsWith('np-')).sort();
    };
    type Policy = { spec: { podSelector: Selector; ingress?: { ports: { port: string }[]; from: { podSelector: Selector; namespaceSelector?: Selector }[] }[] } };
    const policy = async (name: string): Promise<Policy> => JSON.parse(await kubectl(['get', 'networkpolicy', name, '-n', NS, '-o', 'json'])) as Policy;
    const deny = await policy('hzz-default-deny');
    assert.deepEqual(await podsOf(deny.spec.podSelector), ['np-operator', 'np-plotter', 'np-rabbitmq']);
    assert.equal(deny.spec.ingress, undefined, 'default deny: no ingress rule');
    const chunks = await policy('hzz-chunk-pods');
    assert.deepEqual(await podsOf(chunks.spec.podSelector), ['np-chunk']);
    assert.equal(chunks.spec.ingress, undefined);
    const broker = await policy('hzz-rabbitmq');
    assert.deepEqual(await podsOf(broker.spec.podSelector), ['np-rabbitmq']);
    assert.deepEqual(broker.spec.ingress?.map((r) => r.ports.map((p) => p.port)), [['amqp']], 'AMQP only; the management port from nowhere');
    const from = broker.spec.ingress![0]!.from;
    assert.deepEqual(await Promise.all(from.map((peer) => podsOf(peer.podSelector))), [['np-operator'], ['np-plotter'], ['np-chunk']]);
    assert.deepEqual(from[2]!.namespaceSelector, { matchLabels: { 'kubernetes.io/metadata.name': NS } }, 'chunk pods of the watched namespace only');
    // The operator takes completion from the plotter's HTTP API: it, and only it, may reach that port.
    const plotter = await policy('hzz-plotter');
    assert.deepEqual(await podsOf(plotter.spec.podSelector), ['np-plotter']);
    assert.deepEqual(plotter.spec.ingress?.map((r) => r.ports.map((p) => p.port)), [['http']]);
    assert.deepEqual(await Promise.all(plotter.spec.ingress![0]!.from.map((peer) => podsOf(peer.podSelector))), [['np-operator']]);
    for (const [name] of templates) await kubectl(['delete', 'pod', `np-${name}`, '-n', NS, '--wait=false']);
  });

  // Every object labelled with the release, namespaced ones in the given namespaces, as Kind/ns/name.
  async function objectsOf(release: string, ns: string, moreNamespaces: string[] = []): Promise<string[]> {
    const selector = `app.kubernetes.io/instance=${release}`;
    const namespaced = 'serviceaccounts,secrets,configmaps,services,deployments.apps,statefulsets.apps,persistentvolumeclaims,roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,networkpolicies.networking.k8s.io,jobs.batch,hzzanalyses.hzz.opendata.dev';
    const clusterScoped = 'clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io,persistentvolumes';
    const names: string[] = [];
    for (const n of [ns, ...moreNamespaces]) {
      const list = JSON.parse(await kubectl(['get', namespaced, '-n', n, '-l', selector, '-o', 'json'])) as { items: K8sObject[] };
      names.push(...list.items.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`));
    }
    const cluster = JSON.parse(await kubectl(['get', clusterScoped, '-l', selector, '-o', 'json'])) as { items: K8sObject[] };
    names.push(...cluster.items.map((o) => `${o.kind}/${o.metadata.name}`));
    return names.sort();
  }
});

async function waitUntil(what: string, check: () => Promise<boolean>, context: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; operator log:\n${context().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: unknown;
}

interface PodSpec {
  serviceAccountName?: string;
  containers: { args?: string[]; env: { name: string; value?: string; valueFrom?: unknown }[] }[];
}
