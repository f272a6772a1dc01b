import type { CommandModule } from 'yargs';

interface PlotterArgs { out: string | undefined; port: number; host: string; prefetch: number; 'orphan-budget-mib': number | undefined; 'orphan-ttl-seconds': number | undefined }

export const plotterCommand: CommandModule<object, PlotterArgs> = {
  command: 'plotter',
  describe: 'Consume partials from RabbitMQ exactly once, merge them and keep the plot up to date (the plotter Deployment)',
  builder: (y) => y
    .option('out', { type: 'string', default: process.env.HZZ_PLOTTER_OUT, describe: 'output root (the PVC); env HZZ_PLOTTER_OUT' })
    .option('port', { type: 'number', default: Number(process.env.HZZ_PLOTTER_PORT ?? 8080), describe: 'HTTP port for /healthz, /readyz and /analyses/…' })
    .option('host', { type: 'string', default: '0.0.0.0', describe: 'HTTP bind address' })
    .option('prefetch', { type: 'number', default: 16, describe: 'unacknowledged messages held at once' })
    .option('orphan-budget-mib', { type: 'number', describe: 'most MiB held of partials whose plan has not come; past it the oldest are dead-lettered (64); env HZZ_PLOTTER_ORPHAN_BUDGET_MIB' })
    .option('orphan-ttl-seconds', { type: 'number', describe: 'longest a partial waits for its plan before it is dead-lettered (3600); env HZZ_PLOTTER_ORPHAN_TTL_SECONDS' })
    .example('hzz plotter --out /results', 'writes /results/<namespace>/<name>/g<generation>/hzz_m4l.png'),
  handler: async (argv) => {
    if (!argv.out) throw new Error('--out (or HZZ_PLOTTER_OUT) is required');
    const { plotterMain } = await import('../../plotter/plotter-process.js');
    await plotterMain({
      out: argv.out, port: argv.port, host: argv.host, prefetch: argv.prefetch,
      orphans: { budgetMiB: argv['orphan-budget-mib'], ttlSeconds: argv['orphan-ttl-seconds'] },
    });
  },
};
