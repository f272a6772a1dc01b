// The README's cluster walkthrough, for real: the image built by scripts/build-images.sh, the chart
// installed with helm on a node whose pods run in containers (test/harness/node-cluster.ts), an
// HZZAnalysis applied with kubectl, scaled mid-run, waited for, and its plot and histograms.json
// copied out of the plotter pod with kubectl cp. histograms.json must equal `hzz run` on the same
// samples. Then the same analysis three more times, each with one pod deleted mid-run: the
// plotter, a running chunk pod, the broker (its PVC keeps the messages). Every command and its
// output go to a transcript (.cache/node-walkthrough/transcript.md), the README's source.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe as describeNamespace, startNodeCluster, type NodeCluster, type RunResult } from './harness/node-cluster.js';
import { nodeImages } from './harness/node-images.js';
import { CLI, REPO, SHARED_DATA } from './support/paths.js';

const NS = 'hzz-system';
const SAMPLES = ['data', 'Ztt'];
// 21 chunks of the shared files: enough to watch parallelism change and to interrupt a run.
const CHUNK_SIZE = 200;
const TRANSCRIPT = join(REPO, '.cache', 'node-walkthrough', 'transcript.md');
const ANALYSIS_LABEL = 'hzz.opendata.dev/analysis';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const transcript: string[] = [];
const timings: Record<string, number> = {};

function record(r: RunResult, shown?: string): void {
  transcript.push(`$ ${shown ?? r.command}`, (r.stdout + r.stderr).trimEnd(), '');
  mkdirSync(join(TRANSCRIPT, '..'), { recursive: true });
  writeFileSync(TRANSCRIPT, `${transcript.join('\n')}\n## timings (s)\n${JSON.stringify(timings, null, 2)}\n`);
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings[what] = Math.round((Date.now() - t0) / 100) / 10;
  }
}

const EXAMPLE = 'helm/examples/higgs-shared-data.yaml';

/** The example file, or the same analysis under another name and parallelism (the fault runs). */
function analysisManifest(name: string, parallelism: number): string {
  const manifest = readFileSync(join(REPO, EXAMPLE), 'utf8').replace(/^ {2}name: higgs$/m, `  name: ${name}`).replace(/^ {2}parallelism: \d+$/m, `  parallelism: ${parallelism}`);
  assert.match(manifest, new RegExp(`name: ${name}\\n[\\s\\S]*chunkSize: ${CHUNK_SIZE}\\n  parallelism: ${parallelism}\\n`), `${EXAMPLE} changed shape`);
  return manifest;
}

interface Histograms {
  complete: boolean;
  chunks: { total: number; done: number };
  samples: Record<string, { sumw: number[]; sumw2: number[]; entries: number[]; nRead: number; nSelected: number }>;
  categories: Record<string, { sumw: number[]; sumw2: number[]; entries: number[]; nRead: number; nSelected: number }>;
}

/**
 * Counts exactly, sums of weights to 1e-12 relative: the definition of "equal". The largest
 * relative difference found goes into the transcript.
 */
function assertSameHistograms(cluster: Histograms, local: Histograms, label: string): void {
  let largest = 0;
  assert.equal(cluster.complete, true, `${label}: complete`);
  assert.deepEqual(cluster.chunks, local.chunks, `${label}: chunks`);
  for (const group of ['samples', 'categories'] as const) {
    assert.deepEqual(Object.keys(cluster[group]).sort(), Object.keys(local[group]).sort(), `${label}: ${group}`);
    for (const [name, want] of Object.entries(local[group])) {
      const got = cluster[group][name]!;
      assert.equal(got.nRead, want.nRead, `${label}: ${name} nRead`);
      assert.equal(got.nSelected, want.nSelected, `${label}: ${name} nSelected`);
      assert.deepEqual(got.entries, want.entries, `${label}: ${name} entries`);
      for (const key of ['sumw', 'sumw2'] as const) {
        want[key].forEach((w, i) => {
          const g = got[key][i]!;
          assert.ok(Math.abs(g - w) <= 1e-12 * Math.max(Math.abs(w), 1e-300), `${label}: ${name} ${key}[${i}] ${g} != ${w}`);
          if (w !== 0) largest = Math.max(largest, Math.abs(g - w) / Math.abs(w));
        });
      }
    }
  }
  transcript.push(`# ${label}: histograms.json equals hzz run's; largest relative difference of a sum of weights: ${largest}`);
}

describe('the walkthrough on a real node: helm install, kubectl apply/scale/wait/cp, faults in containers', { timeout: 45 * 60_000 }, () => {
  let cluster: NodeCluster;
  let local: Histograms;
  let work: string;

  const kubectl = async (args: string[], opts: { input?: string; timeoutMs?: number; cwd?: string; quiet?: boolean; shown?: string } = {}): Promise<RunResult> => {
    const r = await cluster.kubectl(args, opts);
    if (!opts.quiet) record(r, opts.shown);
    return r;
  };
  const ok = async (r: Promise<RunResult> | RunResult): Promise<string> => {
    const res = await r;
    assert.equal(res.code, 0, `${res.command} failed (${res.code}):\n${res.stderr}\n${res.stdout.slice(0, 2000)}\n${await describeNamespace(cluster.kubectl, NS)}`);
    return res.stdout;
  };
  const jsonpath = async (args: string[], path: string): Promise<string> => (await ok(kubectl([...args, '-o', `jsonpath=${path}`], { quiet: true }))).trim();
  async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}\n${await describeNamespace(cluster.kubectl, NS)}`);
      await sleep(500);
    }
  }
  const chunkPods = async (analysis: string): Promise<{ name: string; phase: string }[]> => {
    const out = await jsonpath(['-n', NS, 'get', 'pods', '-l', `${ANALYSIS_LABEL}=${analysis}`], '{range .items[*]}{.metadata.name} {.status.phase}{"\\n"}{end}');
    return out.split('\n').filter(Boolean).map((l) => {
      const [name, phase] = l.split(' ');
      return { name: name!, phase: phase! };
    });
  };
  const componentPod = (component: string) => jsonpath(['-n', NS, 'get', 'pod', '-l', `app.kubernetes.io/component=${component}`], '{.items[0].metadata.name}');
  const succeededChunks = async (analysis: string): Promise<number> => Number(await jsonpath(['-n', NS, 'get', 'hzz', analysis], '{.status.chunks.succeeded}')) || 0;

  /** The plotter's own word that it holds every chunk, then the files copied out as a user would. */
  async function copyResults(analysis: string, into: string): Promise<{ histograms: Histograms; png: Buffer; plot: string }> {
    const plotPath = await kubectl(['-n', NS, 'get', 'hzz', analysis, '-o', 'jsonpath={.status.output.path}'], {
      shown: `PLOT=$(kubectl -n ${NS} get hzz ${analysis} -o jsonpath='{.status.output.path}'); echo $PLOT`,
    });
    const plot = (await ok(plotPath)).trim();
    assert.match(plot, new RegExp(`^/${NS}/${analysis}/g1-[0-9a-f]{8}/hzz_m4l\\.png$`));
    const folder = plot.replace(/\/hzz_m4l\.png$/, '');
    const plotter = (await ok(kubectl(['-n', NS, 'get', 'pod', '-l', 'app.kubernetes.io/component=plotter', '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[0].metadata.name}'], {
      shown: `PLOTTER=$(kubectl -n ${NS} get pod -l app.kubernetes.io/component=plotter -o jsonpath='{.items[0].metadata.name}'); echo $PLOTTER`,
    }))).trim();
    await waitUntil(`the plotter to hold every chunk of ${analysis}`, async () => {
      const r = await cluster.kubectl(['-n', NS, 'exec', plotter, '--', 'cat', `/results${folder}/status.json`]);
      return r.code === 0 && (JSON.parse(r.stdout) as { complete?: boolean }).complete === true;
    }, 120_000);
    mkdirSync(into, { recursive: true });
    await timed(`kubectl cp (${analysis})`, async () => {
      await ok(kubectl(['-n', NS, 'cp', `${plotter}:/results${plot}`, join(into, 'hzz_m4l.png')], { shown: `kubectl -n ${NS} cp "$PLOTTER:/results$PLOT" ./hzz_m4l.png` }));
      await ok(kubectl(['-n', NS, 'cp', `${plotter}:/results${folder}/histograms.json`, join(into, 'histograms.json')], {
        shown: `kubectl -n ${NS} cp "$PLOTTER:/results\${PLOT%/hzz_m4l.png}/histograms.json" ./histograms.json`,
      }));
    });
    return { histograms: JSON.parse(readFileSync(join(into, 'histograms.json'), 'utf8')) as Histograms, png: readFileSync(join(into, 'hzz_m4l.png')), plot };
  }

  /** The README's other way to look: kubectl port-forward to the plotter's Service, then curl. */
  async function plotterOverHttp(plot: string, png: Buffer): Promise<void> {
    const forward = cluster.kubectlInBackground(['-n', NS, 'port-forward', 'svc/hzz-plotter', '8080:8080']);
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`port-forward said nothing in 30 s: ${out}`)), 30_000);
        forward.stdout!.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('Forwarding from')) {
            clearTimeout(timer);
            resolve(out);
          }
        });
        forward.once('exit', (code) => reject(new Error(`port-forward exited ${code}: ${out}`)));
      });
      transcript.push('$ kubectl -n hzz-system port-forward svc/hzz-plotter 8080:8080 &', banner.trimEnd(), '');
      const status = await cluster.exec('curl', ['-s', `localhost:8080/analyses${plot.replace(/\/hzz_m4l\.png$/, '')}/status`]);
      record(status, 'curl -s "localhost:8080/analyses${PLOT%/hzz_m4l.png}/status"');
      assert.equal((JSON.parse(status.stdout) as { complete: boolean }).complete, true);
      const served = join(work, 'served.png');
      await ok(cluster.exec('curl', ['-so', served, `localhost:8080/analyses${plot}`]).then((r) => (record(r, 'curl -so hzz_m4l.png "localhost:8080/analyses$PLOT"'), r)));
      assert.deepEqual(readFileSync(served), png, 'the plotter serves the PNG kubectl cp copied');
    } finally {
      forward.kill('SIGTERM');
    }
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'hzz-walkthrough-'));
    const images = nodeImages();
    cluster = await timed('node start', () => startNodeCluster({
      images: images.all,
      pauseImage: images.pause.ref,
      coreDnsImage: images.coredns.ref,
      log: (line) => transcript.push(`# ${line}`),
    }));
    // The reference: the same samples and chunks through `hzz run`, no cluster, no broker.
    await promisify(execFile)(process.execPath, [CLI, 'run', '--data', SHARED_DATA, '--samples', SAMPLES.join(','), '--chunk-size', String(CHUNK_SIZE), '--out', join(work, 'local')]);
    local = JSON.parse(readFileSync(join(work, 'local', 'histograms.json'), 'utf8')) as Histograms;
  });

  after(async () => {
    await cluster?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('helm install: the chart\'s broker, plotter and operator run in containers', async () => {
    // No provisioner on this node: static volumes over folders of the node's own, reserved for the
    // chart's two claims. hostPath ignores fsGroup, so each folder belongs to its pod's user.
    const volumes = { rabbitmq: { claim: 'data-hzz-rabbitmq-0', uid: 999 }, results: { claim: 'hzz-plotter-results', uid: 10001 } };
    const pvs = Object.entries(volumes).map(([name, v]) => {
      const path = join(cluster.dir, 'volumes', name);
      mkdirSync(path, { recursive: true });
      chownSync(path, v.uid, v.uid);
      return JSON.stringify({
        apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: `hzz-test-${name}` },
        spec: {
          capacity: { storage: '2Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: '',
          claimRef: { namespace: NS, name: v.claim }, hostPath: { path, type: 'Directory' },
        },
      });
    });
    await ok(kubectl(['apply', '-f', '-'], { input: pvs.join('\n---\n'), shown: 'kubectl apply -f test-node-volumes.yaml' }));

    await timed('helm install', async () => {
      await ok(cluster.helm(['install', 'hzz', 'helm/hzz-operator', '-n', NS, '--create-namespace', '-f', 'helm/kind-values.yaml', '-f', 'helm/test-node-values.yaml', '--set', `data.hostPath.path=${SHARED_DATA}`], { cwd: REPO, timeoutMs: 180_000 }).then((r) => {
        record(r, r.command.replace(SHARED_DATA, '$PWD/../shared/data'));
        return r;
      }));
    });
    await timed('rollout (broker, plotter, operator)', async () => {
      for (const what of ['statefulset/hzz-rabbitmq', 'deployment/hzz-plotter', 'deployment/hzz-operator']) {
        await ok(kubectl(['-n', NS, 'rollout', 'status', what, '--timeout=300s'], { timeoutMs: 310_000 }));
      }
    });
    const pods = await ok(kubectl(['-n', NS, 'get', 'pods']));
    for (const component of ['hzz-operator-', 'hzz-plotter-', 'hzz-rabbitmq-0']) assert.match(pods, new RegExp(`${component}\\S*\\s+1/1\\s+Running`));
    // The images really are this project's: the operator's pod runs the image the script built.
    const image = await jsonpath(['-n', NS, 'get', 'pod', '-l', 'app.kubernetes.io/component=operator'], '{.items[0].status.containerStatuses[0].image}');
    assert.equal(image, 'docker.io/library/hzz-operator:0.1.0');
    // As the chart and the Dockerfile say: non-root users, a root filesystem nothing can write.
    for (const [component, uid] of [['plotter', '10001'], ['operator', '10001'], ['broker', '999']] as const) {
      const pod = `$(kubectl -n ${NS} get pod -l app.kubernetes.io/component=${component} -o name)`;
      const name = await componentPod(component);
      assert.equal((await ok(kubectl(['-n', NS, 'exec', name, '--', 'id', '-u'], { shown: `kubectl -n ${NS} exec ${pod} -- id -u` }))).trim(), uid, `${component} runs as ${uid}`);
      const write = await kubectl(['-n', NS, 'exec', name, '--', 'touch', '/usr/local/bin/x'], { shown: `kubectl -n ${NS} exec ${pod} -- touch /usr/local/bin/x` });
      assert.notEqual(write.code, 0, `${component}: the root filesystem is read-only`);
      assert.match(write.stderr, /Read-only file system/);
    }
  });

  test('kubectl apply, scale mid-run, wait, cp: histograms.json equals hzz run', async () => {
    const analysis = 'higgs';
    const t0 = Date.now();
    await ok(kubectl(['-n', NS, 'apply', '-f', EXAMPLE], { cwd: REPO }));
    // Chunk pods at work (scheduled, starting or running), sampled while the analysis runs.
    let most = 0;
    await waitUntil('three chunks done at parallelism 1', async () => {
      most = Math.max(most, (await chunkPods(analysis)).filter((p) => p.phase === 'Running' || p.phase === 'Pending').length);
      return (await succeededChunks(analysis)) >= 3;
    }, 300_000);
    assert.equal(most, 1, 'parallelism 1 runs one chunk pod at a time');
    record(await cluster.kubectl(['-n', NS, 'get', 'hzz', analysis]));

    await ok(kubectl(['-n', NS, 'scale', `hzz/${analysis}`, '--replicas=3']));
    let mostAfter = 0;
    while ((await succeededChunks(analysis)) < 21 && Date.now() - t0 < 600_000) {
      mostAfter = Math.max(mostAfter, (await chunkPods(analysis)).filter((p) => p.phase === 'Running' || p.phase === 'Pending').length);
      if (mostAfter === 3) {
        record(await cluster.kubectl(['-n', NS, 'get', 'pods', '-l', `${ANALYSIS_LABEL}=${analysis}`, '--field-selector=status.phase!=Succeeded']));
        break;
      }
      await sleep(300);
    }
    assert.equal(mostAfter, 3, 'after kubectl scale --replicas=3, three chunk pods at once');
    record(await cluster.kubectl(['-n', NS, 'get', 'hzz', analysis]));
    assert.equal(await jsonpath(['-n', NS, 'get', 'hzz', analysis], '{.spec.parallelism}'), '3');

    await ok(kubectl(['-n', NS, 'wait', '--for=condition=Ready', `hzz/${analysis}`, '--timeout=600s'], { timeoutMs: 610_000 }));
    timings['analysis (apply to Ready)'] = Math.round((Date.now() - t0) / 100) / 10;
    record(await cluster.kubectl(['-n', NS, 'get', 'hzz', analysis, '-o', 'wide']));
    record(await cluster.kubectl(['-n', NS, 'get', 'jobs', '-l', `${ANALYSIS_LABEL}=${analysis}`]));

    const { histograms, png, plot } = await copyResults(analysis, join(work, analysis));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    await plotterOverHttp(plot, png);
    assertSameHistograms(histograms, local, analysis);
    assert.deepEqual(png, readFileSync(join(work, 'local', 'hzz_m4l.png')), 'the plot drawn in the cluster is the one hzz run draws');
  });

  /**
   * Runs the analysis again under another name and deletes the pod `victim` picks once it is at
   * work; the pod must really have been at work (chunks left to do) and really be replaced.
   */
  async function runWithFault(analysis: string, victim: () => Promise<string | undefined>): Promise<void> {
    await ok(kubectl(['-n', NS, 'apply', '-f', '-'], { input: analysisManifest(analysis, 2), shown: `kubectl -n hzz-system apply -f ${analysis}.yaml` }));
    let pod: string | undefined;
    await waitUntil(`a moment to interrupt ${analysis}`, async () => (pod = await victim()) !== undefined, 300_000);
    const uid = await jsonpath(['-n', NS, 'get', 'pod', pod!], '{.metadata.uid}');
    await ok(kubectl(['-n', NS, 'delete', 'pod', pod!, '--wait=false']));
    assert.ok((await succeededChunks(analysis)) < 21, `${analysis}: the pod was deleted while chunks were left to do`);
    await waitUntil(`${pod} to be gone`, async () => {
      const r = await cluster.kubectl(['-n', NS, 'get', 'pod', pod!, '-o', 'jsonpath={.metadata.uid}']);
      return r.code !== 0 || r.stdout.trim() !== uid;
    }, 120_000);
    await ok(kubectl(['-n', NS, 'wait', '--for=condition=Ready', `hzz/${analysis}`, '--timeout=600s'], { timeoutMs: 610_000 }));
    record(await cluster.kubectl(['-n', NS, 'get', 'hzz', analysis]));
    const { histograms } = await copyResults(analysis, join(work, analysis));
    assertSameHistograms(histograms, local, analysis);
  }
  const afterChunks = (analysis: string, n: number, pick: () => Promise<string>) => async (): Promise<string | undefined> =>
    (await succeededChunks(analysis)) >= n ? pick() : undefined;

  test('kubectl delete pod of the plotter mid-run: the same histograms.json', async () => {
    await runWithFault('fault-plotter', afterChunks('fault-plotter', 4, () => componentPod('plotter')));
  });

  test('kubectl delete pod of a running chunk pod: the same histograms.json', async () => {
    await runWithFault('fault-chunk', async () => (await chunkPods('fault-chunk')).find((p) => p.phase === 'Running')?.name);
  });

  test('kubectl delete pod of RabbitMQ mid-run (its PVC keeps the messages): the same histograms.json', async () => {
    await runWithFault('fault-broker', afterChunks('fault-broker', 4, () => componentPod('broker')));
  });

  test('teardown leaves the machine as it found it', async () => {
    const left = await cluster.stop();
    assert.deepEqual(left, [], `left behind:\n${left.join('\n')}`);
    transcript.push(`# timings: ${JSON.stringify(timings)}`);
    writeFileSync(TRANSCRIPT, `${transcript.join('\n')}\n`);
  });
});
