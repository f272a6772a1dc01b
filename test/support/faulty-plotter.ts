import { parseArgs } from 'node:util';
import { plotterMain } from '../../plotter/plotter-process.js';

// `node dist/test/support/faulty-plotter.js --out DIR --port N --host ADDR --faults JSON`: the plotter
// process with fault injection (PlotterOptions.faults), for the tests that kill it at a chosen
// moment. The production entry points have no way to set them.
const { values } = parseArgs({ options: { out: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, faults: { type: 'string' } }, strict: true });
await plotterMain({ out: values.out!, port: Number(values.port), host: values.host, faults: JSON.parse(values.faults ?? '{}') });
