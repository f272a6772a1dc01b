import type { CommandModule } from 'yargs';

export const workerCommand: CommandModule<object, { task?: string }> = {
  command: 'worker',
  describe: 'Analyse one chunk and publish its partial histogram to RabbitMQ (the container command of a chunk Job)',
  builder: (y) => y
    .option('task', { type: 'string', describe: 'task JSON file (default: the HZZ_TASK environment variable)' })
    .example('HZZ_AMQP_URL=amqp://… hzz worker --task task.json', 'exit 0 once the broker confirmed; 2 bad input; 3 transient')
    .epilogue('Broker: HZZ_AMQP_URL, or HZZ_AMQP_HOST/PORT/VHOST with HZZ_AMQP_USER and HZZ_AMQP_PASSWORD.'),
  handler: async (argv) => {
    const { workerMain } = await import('../../worker/worker-process.js');
    // Not waiting for reads abandoned at their deadline (core/root/read-deadline.ts).
    process.exit(await workerMain({ taskFile: argv.task }));
  },
};
