import { brokerFromEnv } from '../transport/broker-address.js';
import { jsonLog } from '../transport/log.js';
import type { OperatorOptions } from './config.js';
import { Controller } from './controller.js';
import { portOf, startHealthServer } from './health.js';
import { KubeAdapter } from './kube-adapter.js';
import { KubeClient } from './kube-client.js';
import { brokerPlanPublisher } from './plan-publisher.js';

/**
 * `hzz operator`: the wiring. Runs until SIGTERM or SIGINT, then stops taking work, lets the
 * reconciles in progress finish, and closes the broker connection. Nothing is lost by stopping at
 * any other moment (even SIGKILL): the state is in the API server, and a restart carries on.
 */
export async function operatorMain(opts: OperatorOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const log = jsonLog('operator');
  const client = KubeClient.load(opts.kubeconfig);
  const publisher = brokerPlanPublisher(brokerFromEnv(env), log);
  const controller = new Controller({
    kube: new KubeAdapter(client),
    publisher,
    worker: { image: opts.workerImage, command: opts.workerCommand, amqpSecret: opts.amqpSecret, ...(opts.workerServiceAccount ? { serviceAccountName: opts.workerServiceAccount } : {}) },
    dataPvcs: opts.dataPvcs,
    retry: { backoffMs: opts.retryBackoffSeconds * 1000, maxBackoffMs: 300_000 },
    namespace: opts.namespace,
    resyncMs: opts.resyncSeconds * 1000,
    workers: opts.workers,
    log,
  });
  const health = await startHealthServer(opts.healthPort, () => controller.ready);
  controller.start();
  log('started', {
    server: client.server, namespace: opts.namespace ?? '(all)', workerImage: opts.workerImage,
    dataPvcs: Object.fromEntries(opts.dataPvcs), healthPort: portOf(health),
  });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log('stopping', { signal });
  await controller.stop();
  await publisher.close();
  health.close();
  log('stopped');
}
