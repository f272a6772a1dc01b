import type { CommandModule } from 'yargs';
import { plotterMain } from '../../plotter/plotter-process.js';

interface PlotterArgs { out: string | undefined; port: number; host: string; prefetch: number }

export const plotterCommand: CommandModule<object, PlotterArgs> = {
  command: 'plotter',
  describe: 'Consume partials from RabbitMQ exactly once, merge them and keep the plot up to date (the plotter Deployment)',
  builder: (y) => y
    .option('out', { type: 'string', default: process.env.HZZ_PLOTTER_OUT, describe: 'output root (the PVC); env HZZ_PLOTTER_OUT' })
    .option('port', { type: 'number', default: Number(process.env.HZZ_PLOTTER_PORT ?? 8080), describe: 'HTTP port for /healthz, /readyz and /analyses/…' })
    .option('host', { type: 'string', default: '0.0.0.0', describe: 'HTTP bind address' })
    .option('prefetch', { type: 'number', default: 16, describe: 'unacknowledged messages held at once' })
    .example('hzz plotter --out /results', 'writes /results/<namespace>/<name>/g<generation>/hzz_m4l.png'),
  handler: async (argv) => {
    if (!argv.out) throw new Error('--out (or HZZ_PLOTTER_OUT) is required');
    await plotterMain({ out: argv.out, port: argv.port, host: argv.host, prefetch: argv.prefetch });
  },
};
