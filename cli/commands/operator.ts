import type { CommandModule } from 'yargs';
import { hostname } from 'node:os';
import { DEFAULT_WORKER_COMMAND, DEFAULT_WORKER_IMAGE, PARTIAL_MASTER_KEY_ENV, leaderElection, parseDataPvcs, parseMasterKey, parsePlotterUrl, parseSecretRef, parseUrlPrefixes } from '../../operator/config.js';

interface OperatorArgs {
  kubeconfig: string | undefined;
  namespace: string | undefined;
  'worker-image': string;
  'worker-amqp-secret': string | undefined;
  'worker-service-account': string | undefined;
  'data-pvc': string[];
  'allowed-url-prefix': string[];
  'retry-backoff': number;
  'plotter-url': string | undefined;
  'partials-grace': number;
  resync: number;
  workers: number;
  'health-port': number;
  'leader-elect': boolean;
  'leader-election-namespace': string;
  'leader-election-id': string;
  'lease-duration': number;
  'renew-deadline': number;
  'retry-period': number;
}

const env = process.env;

export const operatorCommand: CommandModule<object, OperatorArgs> = {
  command: 'operator',
  describe: 'Run the HZZAnalysis operator: plan each analysis, run one Job per chunk, report progress in its status',
  builder: (y) => y
    .option('kubeconfig', { type: 'string', describe: 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the pod\'s service account)' })
    .option('namespace', { type: 'string', default: env.HZZ_OPERATOR_NAMESPACE || undefined, describe: 'watch only this namespace (default: all); env HZZ_OPERATOR_NAMESPACE' })
    .option('worker-image', { type: 'string', default: env.HZZ_WORKER_IMAGE || DEFAULT_WORKER_IMAGE, describe: `image of the chunk Jobs, run as \`${DEFAULT_WORKER_COMMAND.join(' ')}\`; env HZZ_WORKER_IMAGE` })
    .option('worker-amqp-secret', { type: 'string', default: env.HZZ_WORKER_AMQP_SECRET, describe: 'Secret NAME[:KEY] (key default: url) in each analysis\'s namespace holding the workers\' HZZ_AMQP_URL; env HZZ_WORKER_AMQP_SECRET' })
    .option('worker-service-account', { type: 'string', default: env.HZZ_WORKER_SERVICE_ACCOUNT, describe: 'service account of the worker pods; env HZZ_WORKER_SERVICE_ACCOUNT' })
    .option('data-pvc', {
      type: 'string', array: true, default: env.HZZ_DATA_PVCS ? [env.HZZ_DATA_PVCS] : [],
      describe: 'NAME=DIR: PVC NAME is mounted at DIR here (to plan) and will be in worker pods (to read); repeatable; env HZZ_DATA_PVCS (comma-separated)',
    })
    .option('allowed-url-prefix', {
      type: 'string', array: true, default: env.HZZ_ALLOWED_URL_PREFIXES ? [env.HZZ_ALLOWED_URL_PREFIXES] : [],
      describe: 'URL prefix spec.source.urlPrefix may point into; repeatable; default: the official ATLAS Open Data servers; env HZZ_ALLOWED_URL_PREFIXES (comma-separated)',
    })
    .option('retry-backoff', { type: 'number', default: Number(env.HZZ_RETRY_BACKOFF_SECONDS ?? 10), describe: 'seconds before a failed chunk\'s first retry, doubling per attempt (max 300); env HZZ_RETRY_BACKOFF_SECONDS' })
    .option('plotter-url', { type: 'string', default: env.HZZ_PLOTTER_URL, describe: 'the plotter\'s HTTP API (e.g. http://hzz-plotter:8080), asked what it holds once every chunk\'s Job is done; required; env HZZ_PLOTTER_URL' })
    .option('partials-grace', { type: 'number', default: Number(env.HZZ_PARTIALS_GRACE_SECONDS ?? 30), describe: 'seconds the plotter may lack chunks whose Jobs succeeded, its count unchanged, before they run again; env HZZ_PARTIALS_GRACE_SECONDS' })
    .option('resync', { type: 'number', default: 300, describe: 'seconds between full re-reconciles of every analysis' })
    .option('workers', { type: 'number', default: 4, describe: 'analyses reconciled at once' })
    .option('health-port', { type: 'number', default: Number(env.HZZ_OPERATOR_HEALTH_PORT ?? 8081), describe: 'port of /healthz and /readyz (0: any free port); env HZZ_OPERATOR_HEALTH_PORT' })
    .option('leader-elect', { type: 'boolean', default: env.HZZ_LEADER_ELECT === 'true', describe: 'run as one of several replicas: only the holder of a Lease reconciles; env HZZ_LEADER_ELECT=true' })
    .option('leader-election-namespace', { type: 'string', default: env.HZZ_POD_NAMESPACE || 'default', describe: 'namespace of the Lease; env HZZ_POD_NAMESPACE (the chart sets it to the pod\'s)' })
    .option('leader-election-id', { type: 'string', default: 'hzz-operator', describe: 'name of the Lease' })
    .option('lease-duration', { type: 'number', default: 15, describe: 'seconds a standby waits on an unrenewed Lease before taking it over' })
    .option('renew-deadline', { type: 'number', default: 10, describe: 'seconds the leader keeps trying to renew before it stops leading' })
    .option('retry-period', { type: 'number', default: 2, describe: 'seconds between renewals, and between a standby\'s looks at the Lease' })
    .example('HZZ_AMQP_URL=amqp://… hzz operator --worker-amqp-secret hzz-rabbitmq:worker-url --plotter-url http://hzz-plotter:8080 --data-pvc atlas-data=/data', 'plans are published to HZZ_AMQP_URL; workers read theirs from the Secret')
    .epilogue(`The operator publishes plans with HZZ_AMQP_URL (or HZZ_AMQP_HOST, _PORT, _VHOST, _USER, _PASSWORD), and derives each analysis's partial key from ${PARTIAL_MASTER_KEY_ENV} (required, at least 32 characters). See docs/operator.md.`),
  handler: async (argv) => {
    if (!argv['worker-amqp-secret']) throw new Error('--worker-amqp-secret (or HZZ_WORKER_AMQP_SECRET) is required: workers need the broker');
    const { operatorMain } = await import('../../operator/main.js');
    await operatorMain({
      kubeconfig: argv.kubeconfig,
      namespace: argv.namespace,
      workerImage: argv['worker-image'],
      workerCommand: DEFAULT_WORKER_COMMAND,
      workerServiceAccount: argv['worker-service-account'],
      amqpSecret: parseSecretRef(argv['worker-amqp-secret']),
      partialMasterKey: parseMasterKey(env[PARTIAL_MASTER_KEY_ENV]),
      dataPvcs: parseDataPvcs(argv['data-pvc']),
      allowedUrlPrefixes: parseUrlPrefixes(argv['allowed-url-prefix']),
      retryBackoffSeconds: argv['retry-backoff'],
      plotterUrl: parsePlotterUrl(argv['plotter-url']),
      partialsGraceSeconds: argv['partials-grace'],
      resyncSeconds: argv.resync,
      workers: argv.workers,
      healthPort: argv['health-port'],
      leaderElection: argv['leader-elect'] ? leaderElection({
        namespace: argv['leader-election-namespace'], name: argv['leader-election-id'], podName: env.HZZ_POD_NAME || hostname(),
        leaseDuration: argv['lease-duration'], renewDeadline: argv['renew-deadline'], retryPeriod: argv['retry-period'],
      }) : undefined,
    });
  },
};
