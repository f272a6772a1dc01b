import { fileURLToPath } from 'node:url';
import { structuralSchema } from './structural.js';
import { analysisSchemas, API_VERSION, GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from './v1alpha1.js';
import { toYaml } from './yaml.js';

/** The HZZAnalysis CustomResourceDefinition, generated from the TypeBox schema in v1alpha1.ts. */
export const CRD_NAME = `${PLURAL}.${GROUP}`;
export const CRD_FILE = fileURLToPath(new URL(`../../../crds/${CRD_NAME}.yaml`, import.meta.url));

export function customResourceDefinition(): object {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: SHORT_NAMES },
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        schema: { openAPIV3Schema: structuralSchema(analysisSchemas().resource) },
        subresources: {
          status: {},
          // `kubectl scale hzz/NAME --replicas=N` sets how many chunk Jobs run at once.
          scale: { specReplicasPath: '.spec.parallelism', statusReplicasPath: '.status.running', labelSelectorPath: '.status.selector' },
        },
        additionalPrinterColumns: [
          { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
          { name: 'Chunks', type: 'string', jsonPath: '.status.progress', description: 'chunks done/total' },
          { name: 'Running', type: 'integer', jsonPath: '.status.running', description: 'chunk Jobs active' },
          { name: 'Plot', type: 'string', jsonPath: '.status.output.path', priority: 1, description: "the plot on the plotter's volume" },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
      }],
    },
  };
}

export function crdYaml(): string {
  return `# Generated from operator/api/v1alpha1.ts by \`node dist/operator/api/generate-crd.js\`: do not edit.\n` +
    `# ${API_VERSION} ${KIND}\n` +
    toYaml(customResourceDefinition());
}
