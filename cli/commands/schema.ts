import type { CommandModule } from 'yargs';
import { CatalogueSchema } from '../../core/catalogue.js';
import { AnalysisDefinitionSchema } from '../../core/contracts/analysis-definition.js';
import { PartialHistogramSchema, PlanSchema, TaskSchema } from '../../core/contracts/messages.js';
import { RunSummarySchema } from '../../core/contracts/run-summary.js';

const schemas = { catalogue: CatalogueSchema, analysis: AnalysisDefinitionSchema, task: TaskSchema, partial: PartialHistogramSchema, plan: PlanSchema, run: RunSummarySchema };

export const schemaCommand: CommandModule<object, { name: keyof typeof schemas }> = {
  command: 'schema <name>',
  describe: 'Print the JSON Schema of a document: catalogue, analysis (definition), task, partial, plan or run (hzz run --json)',
  builder: (y) => y.positional('name', { choices: Object.keys(schemas) as (keyof typeof schemas)[], demandOption: true }),
  handler: (argv) => {
    process.stdout.write(JSON.stringify(schemas[argv.name], null, 2) + '\n');
  },
};
