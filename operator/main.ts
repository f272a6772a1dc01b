import { jsonLog } from '../core/util/log.js';
import { brokerFromEnv } from '../transport/broker-address.js';
import type { OperatorOptions } from './config.js';
import { Controller } from './controller.js';
import { portOf, startHealthServer } from './health.js';
import { KubeAdapter } from './kube-adapter.js';
import { KubeClient } from './kube-client.js';
import { LeaderElector } from './leader-election.js';
import { brokerPlanPublisher } from './plan-publisher.js';
import { plotterClient } from './plotter-client.js';

/**
 * `hzz operator`: the wiring. Runs until SIGTERM or SIGINT, then stops taking work, lets the
 * reconciles in progress finish, gives up its Lease, and closes the broker connection. Nothing is
 * lost by stopping at any other moment (even SIGKILL): the state is in the API server, and a
 * restart (or a standby replica) carries on. With leader election a replica waits, healthy and
 * ready, until it leads; one that loses the lead stops and exits 1, to be restarted as a standby.
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
    allowedUrlPrefixes: opts.allowedUrlPrefixes,
    retryWait: { initialMs: opts.retryBackoffSeconds * 1000, maxMs: 300_000 },
    partialMasterKey: opts.partialMasterKey,
    partialsGraceMs: opts.partialsGraceSeconds * 1000,
    plotter: plotterClient(opts.plotterUrl),
    namespace: opts.namespace,
    resyncMs: opts.resyncSeconds * 1000,
    workers: opts.workers,
    log,
  });
  const election = opts.leaderElection;
  const elector = election ? new LeaderElector(client, { ...election, log }) : undefined;
  const health = await startHealthServer(opts.healthPort, () => (elector !== undefined && !elector.isLeader) || controller.ready);
  let lose = (): void => {};
  const stopReason = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
    lose = () => resolve('leadership lost');
  });
  const shutDown = async (): Promise<void> => {
    await publisher.close();
    health.close();
    log('stopped');
  };
  if (elector && election) {
    log('waiting to lead', { lease: `${election.namespace}/${election.name}`, identity: election.identity, healthPort: portOf(health) });
    // A signal while waiting ends the wait; once leading, the Lease is given up only after the reconciles.
    const waitEnded = stopReason.then(() => (elector.isLeader ? undefined : elector.stop()));
    if (!(await elector.lead(lose))) {
      await waitEnded;
      return shutDown();
    }
  }
  controller.start();
  log('started', {
    server: client.server, namespace: opts.namespace ?? '(all)', workerImage: opts.workerImage,
    dataPvcs: Object.fromEntries(opts.dataPvcs), plotter: opts.plotterUrl, healthPort: portOf(health),
  });
  const reason = await stopReason;
  log('stopping', { reason });
  await controller.stop();
  await elector?.stop();
  if (reason === 'leadership lost') process.exitCode = 1;
  return shutDown();
}
