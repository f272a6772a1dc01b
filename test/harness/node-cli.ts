// A developer's handle on the test node (scripts/test-node.sh): `up` starts it with the project's
// images and holds it until SIGINT or SIGTERM, `down` stops the one `up` started from another shell.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { startNodeCluster } from './node-cluster.js';
import { nodeImages } from './node-images.js';

const STATE = join(process.env.HZZ_NODE_STATE_DIR || join(homedir(), '.cache', 'hzz-operator', 'node'), 'current.json');

async function up(): Promise<void> {
  // A node already up is refused by startNodeCluster itself (one node per machine).
  const images = nodeImages();
  const cluster = await startNodeCluster({
    images: images.all,
    pauseImage: images.pause.ref,
    coreDnsImage: images.coredns.ref,
    log: (line) => process.stderr.write(`test-node: ${line}\n`),
  });
  mkdirSync(join(STATE, '..'), { recursive: true });
  writeFileSync(STATE, JSON.stringify({ pid: process.pid, netns: cluster.netns, kubeconfig: cluster.kubeconfig, dir: cluster.dir }));
  const enter = `nsenter --net=/run/netns/${cluster.netns} --`;
  process.stdout.write(
    [
      `The test node is up (network namespace ${cluster.netns}, files in ${cluster.dir}).`,
      'Its API server is reachable only inside that namespace:',
      '',
      `  export KUBECONFIG=${cluster.kubeconfig}`,
      `  ${enter} kubectl get nodes`,
      `  ${enter} helm install hzz helm/hzz-operator -n hzz-system --create-namespace -f helm/kind-values.yaml -f helm/test-node-values.yaml --set data.hostPath.path=$PWD/../shared/data`,
      '',
      'Ctrl-C here, or scripts/test-node.sh down, stops it and removes everything it made.',
      '',
    ].join('\n'),
  );
  const stop = async (): Promise<void> => {
    const left = await cluster.stop();
    rmSync(STATE, { force: true });
    process.stderr.write(left.length ? `test-node: left behind:\n${left.join('\n')}\n` : 'test-node: stopped; nothing left behind\n');
    process.exit(left.length ? 1 : 0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

async function down(): Promise<void> {
  if (!existsSync(STATE)) {
    process.stderr.write('test-node: no node is up\n');
    return;
  }
  const { pid } = JSON.parse(readFileSync(STATE, 'utf8')) as { pid: number };
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    rmSync(STATE, { force: true });
    process.stderr.write(`test-node: process ${pid} is gone; its leftovers go with the next start\n`);
    return;
  }
  while (existsSync(STATE)) await new Promise((r) => setTimeout(r, 200));
  process.stderr.write('test-node: down\n');
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  process.stderr.write('usage: scripts/test-node.sh up|down\n');
  process.exit(2);
}
