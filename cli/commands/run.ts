import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { CommandModule } from 'yargs';
import { runLocal } from '../../local/run-local.js';
import type { LocalRunOptions } from '../../local/run-plan.js';
import { runSummary, summaryTable, writeRunOutputs, type LocalRunReport } from '../../local/run-report.js';

interface RunArgs {
  catalog?: string | undefined;
  analysis?: string | undefined;
  data?: string | undefined;
  samples?: string[] | undefined;
  'chunk-size': number;
  parallel?: number | undefined;
  out: string;
  lumi?: number | undefined;
  bins?: number[] | undefined;
  broker?: string | undefined;
  json: boolean;
  'by-sample': boolean;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'Run the whole analysis on this machine and write the plot, histograms.json and histograms.csv',
  builder: (y) => y
    .option('catalog', { type: 'string', describe: 'sample catalogue (JSON); default: the built-in ATLAS 2020 4-lepton release' })
    .option('analysis', { type: 'string', describe: "analysis definition: a shipped one's name (definitions/NAME.json) or a JSON file of cuts, weight and histograms; default: the one named as the catalogue's release" })
    .option('data', { type: 'string', describe: "folder holding the ROOT files, or a URL prefix; default: the catalogue's official URL prefix" })
    .option('samples', { type: 'string', coerce: (v: string | string[]) => [v].flat().flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean), describe: 'sample or category names, comma-separated (data, Ztt, ZZ, signal, Zee, ...)' })
    .option('chunk-size', { type: 'number', default: 50_000, describe: 'entries per chunk' })
    .option('parallel', { type: 'number', describe: 'chunks analysed at once (default: the number of cores)' })
    .option('out', { type: 'string', default: 'hzz-output', describe: 'output folder' })
    .option('lumi', { type: 'number', describe: "integrated luminosity in fb⁻¹ (default: the sum of the data periods that run, e.g. 0.5 for data_A, 10 for all four; the catalogue's for MC only)" })
    .option('bins', { type: 'string', coerce: (v: string) => v.split(',').map(Number), describe: "binning of the definition's first histogram (m4l) as lo,hi,width (default: the definition's, 80,250,5 for 2020)" })
    .option('broker', { type: 'string', describe: 'run workers and the plotter through this RabbitMQ (amqp://user:pass@host:port/vhost) instead of in-process' })
    .option('json', { type: 'boolean', default: false, describe: "print the run's result as JSON on stdout: the table's numbers per category and per sample, the lumi, the failures" })
    .option('by-sample', { type: 'boolean', default: false, describe: 'the table per sample instead of per category' })
    .example('hzz run --data ../shared/data --out out', 'the analysis on local files')
    .example('hzz run --samples data,Ztt --chunk-size 1000 --parallel 2', 'two categories, from the official servers')
    .example('hzz run --analysis my-cuts.json --data ../shared/data', 'a copy of definitions/atlas-2020-4lep.json with a cut changed')
    .epilogue('Exit status: 0 all chunks done; 1 some chunk or sample failed (outputs hold the rest); 2 bad arguments or catalogue.'),
  handler: async (argv) => {
    const out = resolve(argv.out);
    const cores = availableParallelism();
    // More processes than cores only share the cores and pay each one's start-up: 64 on 2 cores ran 15× slower.
    if (argv.parallel !== undefined && argv.parallel > cores) {
      process.stderr.write(`hzz: --parallel ${argv.parallel} is more than this machine's ${cores} cores: running ${cores} at once\n`);
      argv.parallel = cores;
    }
    const bar = new SingleBar({ format: 'chunks {bar} {value}/{total} | {percentage}% | {duration}s', stream: process.stderr, noTTYOutput: true, notTTYSchedule: 10_000, hideCursor: false });
    const opts: LocalRunOptions = {
      catalogue: argv.catalog, analysis: argv.analysis, data: argv.data, samples: argv.samples, chunkSize: argv['chunk-size'], parallel: argv.parallel,
      lumi: argv.lumi, binning: argv.bins ? { lo: argv.bins[0]!, hi: argv.bins[1]!, width: argv.bins[2]! } : undefined,
      onPlanned: (p) => bar.start(p.tasks.length, 0),
      onChunk: (done) => bar.update(done),
    };
    let report: LocalRunReport;
    try {
      report = argv.broker ? await throughBroker(opts, argv.broker) : await runLocal(opts);
    } finally {
      bar.stop();
    }
    const files = writeRunOutputs(out, report);
    if (argv.json) {
      process.stdout.write(JSON.stringify(runSummary(report, out, files)) + '\n');
    } else {
      process.stdout.write(summaryTable(report, { bySample: argv['by-sample'] }) + '\n');
      process.stdout.write(`wrote ${files.join(', ')}\n`);
    }
    for (const f of report.retried) process.stderr.write(`RETRIED ${f.what} after [${f.kind}]: ${f.message}\n`);
    for (const f of report.failures) process.stderr.write(`FAILED ${f.what} [${f.kind}]: ${f.message}\n`);
    if (report.failures.length > 0) {
      process.stderr.write(`${report.failures.length} failure(s): the outputs hold only what succeeded\n`);
      process.exitCode = 1;
    }
    // A read given up on at its deadline may still be retried inside jsroot (it cannot be cancelled
    // from outside): the run is over and reported, so it is not waited for.
    process.exit();
  },
};

/** `--broker`: the broker's client, the worker and the plotter are loaded only for it. */
async function throughBroker(opts: LocalRunOptions, broker: string): Promise<LocalRunReport> {
  const [{ runLocalThroughBroker }, { runWorker }, { startPlotter }] = await Promise.all([
    import('../../local/run-through-broker.js'), import('../../worker/run-worker.js'), import('../../plotter/plotter.js'),
  ]);
  return runLocalThroughBroker(opts, broker, { runWorker, startPlotter });
}
