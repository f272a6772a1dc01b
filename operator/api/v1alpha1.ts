import { CHUNK_RANGES_PATTERN } from '../../core/contracts/plotter-status.js';
import { CloneType, Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { shippedDefinitionNames } from '../../core/analysis/load-definition.js';
import { AnalysisDefinitionSchema } from '../../core/contracts/analysis-definition.js';
import { CatalogueSchema, LumiSchema, type Catalogue } from '../../core/catalogue.js';
import { DEFAULT_BINNING, MAX_BINS } from '../../core/histogram.js';
import { builtInReleases, defaultRelease } from './releases.js';

/**
 * HZZAnalysis, hzz.opendata.dev/v1alpha1: the one definition of the resource's schema. The CRD in
 * crds/ is generated from it (api/crd.ts), the operator's types come from it (Static<>), and the
 * operator applies its defaults with the same schema, so the three cannot drift apart.
 *
 * What a plain OpenAPI schema cannot say is written as CEL rules (x-kubernetes-validations), which
 * the API server evaluates on every write, so a bad manifest is refused by kubectl with a message
 * naming the field, instead of being accepted and failing later in the operator.
 *
 * The spec's enums and rules name the built-in releases (catalogues/), so its schema is built the
 * first time it is needed, not when this module is imported: importing a constant from here reads
 * no file.
 */
export const GROUP = 'hzz.opendata.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'HZZAnalysis';
export const PLURAL = 'hzzanalyses';
export const SINGULAR = 'hzzanalysis';
export const SHORT_NAMES = ['hzz'];

const cel = (values: readonly string[]): string => `[${values.map((v) => `'${v}'`).join(', ')}]`;
const literals = <T extends string>(values: readonly T[], options: object = {}) =>
  Type.Union(values.map((v) => Type.Literal(v)), options);

const catalogueSample = CatalogueSchema.properties.samples.items.properties;
/** Sample and category names end up in label values and Job annotations: 63 characters at most. */
const SampleName = Type.String({ minLength: 1, maxLength: 63, pattern: catalogueSample.name.pattern });

function inlineSample(releases: readonly Catalogue[]) {
  const categories = [...new Set(releases.flatMap((r) => r.categories.map((c) => c.name)))];
  const dataCategories = [...new Set(releases.flatMap((r) => r.categories.filter((c) => c.kind === 'data').map((c) => c.name)))];
  return Type.Object({
    name: SampleName,
    category: literals(categories, { maxLength: 63, description: `The sample's category; its kind (data, background, signal) comes from the release's categories` }),
    path: Type.String({ minLength: 1, maxLength: 1024, description: 'File path relative to the source (URL prefix or folder), as in the release catalogue' }),
    dsid: catalogueSample.dsid,
    xsec: catalogueSample.xsec,
    sumw: catalogueSample.sumw,
    efficiency: catalogueSample.efficiency,
    lumi: catalogueSample.lumi,
  }, {
    'x-kubernetes-validations': [{
      rule: `self.category in ${cel(dataCategories)} || (has(self.xsec) && has(self.sumw) && has(self.efficiency))`,
      messageExpression: `'sample ' + self.name + ': an MC sample (category ' + self.category + ') needs xsec, sumw and efficiency'`,
    }],
  });
}

/**
 * Names are only known per release, so each rule is an `||` over the built-in releases: a selection
 * entry names a category or a sample of the release (or of the inline catalogue, which replaces the
 * release's samples), and an inline sample's category must be one of the release's.
 */
function perRelease(releases: readonly Catalogue[], test: (names: { categories: string[]; samples: string[] }) => string): string {
  return releases.map((r) => `(self.release == '${r.release}' && ${test({ categories: r.categories.map((c) => c.name), samples: r.samples.map((x) => x.name) })})`).join(' || ');
}

function selectionRules(releases: readonly Catalogue[]): { rule: string; messageExpression: string }[] {
  const known = (s: string): string =>
    `(has(self.catalogue) ? (self.catalogue.samples.exists(c, c.name == ${s}) || ${perRelease(releases, (n) => `${s} in ${cel(n.categories)}`)}) : (${perRelease(releases, (n) => `${s} in ${cel([...n.categories, ...n.samples])}`)}))`;
  const categoryOfRelease = (c: string): string => `(${perRelease(releases, (n) => `${c}.category in ${cel(n.categories)}`)})`;
  return [{
    rule: `!has(self.samples) || self.samples.all(s, ${known('s')})`,
    // filter()[0] rather than join(): the cost estimate has no bound for a joined string.
    messageExpression: `'samples: ' + self.samples.filter(s, !${known('s')})[0] + ' is neither a category nor a sample of ' + (has(self.catalogue) ? 'the inline catalogue' : self.release)`,
  }, {
    rule: `!has(self.catalogue) || self.catalogue.samples.all(c, ${categoryOfRelease('c')})`,
    messageExpression: `'catalogue.samples: a category is not one of release ' + self.release + "'s"`,
  }];
}

// No default for the whole object: absent, the definition's own binning holds (a default here would
// put the 2020 notebook's 5 GeV bins on every definition's first histogram).
const Binning = Type.Object({
  lo: Type.Optional(Type.Number({ default: DEFAULT_BINNING.lo, description: 'Lower edge of the first bin of m4l, GeV' })),
  hi: Type.Optional(Type.Number({ default: DEFAULT_BINNING.hi, description: 'Upper edge of the last bin, GeV' })),
  width: Type.Optional(Type.Number({ exclusiveMinimum: 0, default: DEFAULT_BINNING.width, description: 'Bin width, GeV' })),
}, {
  description: "Binning of the definition's first histogram (m4l), overriding the definition's (core/histogram.ts binningProblems, as CEL); default: the definition's",
  'x-kubernetes-validations': binningRules(),
});

// Messages are constant: CEL's string() of a number has no size bound, so the API server's cost
// estimate refuses any messageExpression that prints one.
function binningRules(): { rule: string; message: string; fieldPath?: string }[] {
  const n = '((self.hi - self.lo) / self.width)';
  const nearest = `double(int(${n} + 0.5))`;
  // int() of a huge or infinite double is an error, so the bin count is bounded before rounding.
  const whole = `(${n} - ${nearest} <= 1e-9 * ${n} && ${nearest} - ${n} <= 1e-9 * ${n})`;
  return [
    { rule: 'self.hi > self.lo', message: 'binning: hi must be above lo', fieldPath: '.hi' },
    { rule: `self.hi <= self.lo || self.width <= 0.0 || ${n} <= ${MAX_BINS}.0`, message: `binning: (hi - lo) / width is more than ${MAX_BINS} bins`, fieldPath: '.width' },
    { rule: `self.hi <= self.lo || self.width <= 0.0 || ${n} > ${MAX_BINS}.0 || ${whole}`, message: 'binning: (hi - lo) / width must be a whole number of bins', fieldPath: '.width' },
  ];
}

/**
 * spec.analysisDefinition: the hzz.analysis/v1 schema itself, so that the API server prunes and
 * types an inline definition exactly as `hzz run --analysis FILE` reads one, plus what CEL can check
 * of it: names unique, every histogram with bins. Formulas are the operator's to check
 * (core/analysis/check-definition.ts, before planning): CEL cannot parse them.
 */
function inlineDefinition() {
  const def = AnalysisDefinitionSchema.properties;
  const unique = (list: string) => [{ rule: 'self.all(x, self.exists_one(y, y.name == x.name))', message: `${list}: each name may be used once` }];
  const histogram = def.histograms.items;
  return Type.Object({
    ...def,
    variables: CloneType(def.variables, { 'x-kubernetes-validations': unique('variables') }),
    cuts: CloneType(def.cuts, { 'x-kubernetes-validations': unique('cuts') }),
    histograms: CloneType(Type.Array(Type.Object({
      ...histogram.properties,
      binning: CloneType(histogram.properties.binning, { 'x-kubernetes-validations': binningRules() }),
    }), def.histograms), { 'x-kubernetes-validations': unique('histograms') }),
  }, {
    description: "An analysis definition inline (hzz.analysis/v1, docs/contracts.md; `hzz schema analysis` prints its JSON Schema): its branches, variables, cuts, MC weight and histograms, instead of a shipped one by name (spec.analysis). The operator checks every formula before planning and reports a bad one in the Degraded condition, naming the formula and the position",
  });
}

const Source = Type.Object({
  urlPrefix: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2048, description: 'Read the files over HTTP(S) from this prefix' })),
  pvc: Type.Optional(Type.String({
    pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253,
    description: 'Read the files from this PersistentVolumeClaim, mounted read-only into the worker pods (the operator must have it mounted too: hzz operator --data-pvc)',
  })),
  path: Type.Optional(Type.String({ maxLength: 1024, description: 'Folder inside the PVC (default: its root)' })),
}, {
  description: "Where the ROOT files are; default: the release's official URL prefix",
  'x-kubernetes-validations': [
    { rule: 'has(self.urlPrefix) != has(self.pvc)', message: 'source needs exactly one of urlPrefix or pvc' },
    { rule: '!has(self.path) || has(self.pvc)', message: 'source.path is a folder inside source.pvc: set pvc as well' },
    { rule: `!has(self.path) || !self.path.split('/').exists(p, p == '..')`, message: "source.path must not contain '..'" },
  ],
});

const Quantities = Type.Record(Type.String(), Type.Union([Type.Integer(), Type.String()]));

function specSchema(releases: readonly Catalogue[], defaultName: string) {
  return Type.Object({
    release: Type.Optional(literals(releases.map((r) => r.release), { default: defaultName, maxLength: 63, description: 'Built-in sample catalogue (catalogues/<release>.json)' })),
    catalogue: Type.Optional(Type.Object({
      samples: Type.Array(inlineSample(releases), {
        minItems: 1, maxItems: 200, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'],
        description: "Replace the release's samples with these (the release still gives categories, tree and branches)",
      }),
    }, { description: 'Inline catalogue entries instead of the release’s own samples' })),
    analysis: Type.Optional(literals(shippedDefinitionNames(), {
      maxLength: 63,
      description: "A shipped analysis definition by name (definitions/<name>.json, hzz.analysis/v1): its branches, cuts, MC weight and histograms; or give one inline as spec.analysisDefinition (not both); default: the one named as the release",
    })),
    analysisDefinition: Type.Optional(inlineDefinition()),
    samples: Type.Optional(Type.Array(SampleName, { maxItems: 100, description: 'Sample or category names to run (default: all samples)' })),
    source: Type.Optional(Source),
    lumi: Type.Optional(Type.Number({ ...LumiSchema, description: "Integrated luminosity, fb⁻¹ (default: the sum of the data samples' that run, or the release's default for MC only)" })),
    binning: Type.Optional(Binning),
    chunkSize: Type.Optional(Type.Integer({ minimum: 1, default: 50_000, description: 'Entries per chunk (one Job each)' })),
    parallelism: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, default: 4, description: 'Chunk Jobs running at once; 0 pauses (the /scale subresource)' })),
    retriesPerChunk: Type.Optional(Type.Integer({ minimum: 0, maximum: 20, default: 3, description: 'Extra attempts for a chunk whose worker failed with a retryable exit code' })),
    chunkTimeoutSeconds: Type.Optional(Type.Integer({
      minimum: 1, maximum: 604_800, default: 3600,
      description: 'Seconds a chunk attempt may run (its Job\'s activeDeadlineSeconds); a worker hung past it is stopped, and the attempt fails retryably',
    })),
    maxFailedChunks: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Chunks allowed to fail for good before the analysis fails' })),
    output: Type.Optional(Type.String({
      maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$',
      description: "Folder on the plotter's volume under which <namespace>/<name>/g<generation>-<uid>/ is written",
      'x-kubernetes-validations': [
        { rule: `self.split('/').size() <= 5`, message: 'output has at most 5 segments' },
        { rule: `!self.split('/').exists(s, s == 'partials')`, message: "output: 'partials' is reserved by the plotter" },
      ],
    })),
    image: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: "Worker image (default: the operator's --worker-image)" })),
    resources: Type.Optional(Type.Object({
      requests: Type.Optional(Quantities),
      limits: Type.Optional(Quantities),
    }, { description: "Worker container resources" })),
  }, {
    'x-kubernetes-validations': [
      { rule: '!has(self.analysis) || !has(self.analysisDefinition)', message: 'give spec.analysis (a shipped definition by name) or spec.analysisDefinition (one inline), not both', fieldPath: '.analysisDefinition' },
      ...selectionRules(releases),
    ],
  });
}

export const PHASES = ['Pending', 'Planning', 'Running', 'Succeeded', 'Failed'] as const;
export const CONDITION_TYPES = ['Progressing', 'Ready', 'Degraded'] as const;

const Count = Type.Integer({ minimum: 0 });

export const ConditionSchema = Type.Object({
  type: literals(CONDITION_TYPES),
  status: literals(['True', 'False', 'Unknown'] as const),
  reason: Type.String({ pattern: '^[A-Z][A-Za-z0-9]*$' }),
  message: Type.String(),
  observedGeneration: Type.Integer({ minimum: 0 }),
  lastTransitionTime: Type.String({ format: 'date-time' }),
});

export const StatusSchema = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ description: 'metadata.generation this status describes' })),
  planGeneration: Type.Optional(Type.Integer({ description: 'Generation whose plan runs: the g<N> in Job names and the output path' })),
  phase: Type.Optional(literals(PHASES)),
  chunks: Type.Optional(Type.Object({ total: Count, succeeded: Count, failed: Count, running: Count, pending: Count })),
  running: Type.Optional(Type.Integer({ minimum: 0, description: 'Chunk Jobs active now (the /scale status replicas)' })),
  progress: Type.Optional(Type.String({ description: 'Chunks done/total' })),
  succeededChunks: Type.Optional(Type.String({
    pattern: CHUNK_RANGES_PATTERN,
    description: 'Indices of the running plan’s chunks that succeeded, as ranges ("0-41,43"); their Jobs are deleted once recorded here',
  })),
  plotter: Type.Optional(Type.Object({
    reachable: Type.Boolean({ description: 'The plotter answered when last asked' }),
    storedChunks: Type.String({ pattern: CHUNK_RANGES_PATTERN, description: 'The chunks the plotter holds, as it last said (ranges)' }),
    drawn: Type.Boolean({ description: 'The plotter has drawn its outputs from every chunk it holds' }),
    changedAt: Type.String({ format: 'date-time', description: 'When the operator last saw the plotter’s answer change' }),
    reruns: Type.Integer({ minimum: 0, description: 'Rounds of chunks run again because the plotter lacked their partials' }),
    rerunChunks: Type.Optional(Type.String({ pattern: CHUNK_RANGES_PATTERN, description: 'The chunks of the latest such round (ranges)' })),
  }, { description: 'What the plotter holds of the running plan, asked once every chunk’s Job is done: Succeeded needs it to hold every chunk' })),
  selector: Type.Optional(Type.String({ description: 'Label selector of the running plan’s Jobs and pods (the /scale selector)' })),
  output: Type.Optional(Type.Object({ path: Type.String({ description: "The plot, on the plotter's volume" }) })),
  conditions: Type.Optional(Type.Array(ConditionSchema, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })),
});

/** The whole object as the CRD's openAPIV3Schema sees it. */
const resourceSchema = (spec: ReturnType<typeof specSchema>) => Type.Object({
  apiVersion: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  metadata: Type.Optional(Type.Object({})),
  spec,
  status: Type.Optional(StatusSchema),
}, {
  description: 'The ATLAS Open Data H→ZZ*→4ℓ analysis, run as one Job per chunk',
  'x-kubernetes-validations': [{
    rule: 'self.metadata.name.size() <= 63',
    message: 'metadata.name is used as a label value on Jobs and pods, so it has at most 63 characters',
  }],
});

let schemas: { spec: ReturnType<typeof specSchema>; resource: ReturnType<typeof resourceSchema> } | undefined;

/** The spec's and the whole resource's schemas, built from catalogues/ on first use. */
export function analysisSchemas(): NonNullable<typeof schemas> {
  if (!schemas) {
    const spec = specSchema([...builtInReleases().values()], defaultRelease());
    schemas = { spec, resource: resourceSchema(spec) };
  }
  return schemas;
}

export type AnalysisSpec = Static<ReturnType<typeof specSchema>>;
export type AnalysisStatus = Static<typeof StatusSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type ConditionType = Condition['type'];
export type Phase = (typeof PHASES)[number];
export type BinningSpec = Required<NonNullable<AnalysisSpec['binning']>>;

type Defaulted = 'release' | 'chunkSize' | 'parallelism' | 'retriesPerChunk' | 'chunkTimeoutSeconds' | 'maxFailedChunks';
export type ResolvedSpec = Omit<AnalysisSpec, Defaulted | 'binning'> & Required<Pick<AnalysisSpec, Defaulted>> & { binning?: BinningSpec };

export interface HZZAnalysis {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  spec: AnalysisSpec;
  status?: AnalysisStatus;
}

/**
 * The spec with the CRD's defaults filled in. The API server has normally done this already; doing
 * it again from the same schema covers objects stored before a default was added.
 */
export function resolveSpec(spec: AnalysisSpec): ResolvedSpec {
  return Value.Default(analysisSchemas().spec as TSchema, structuredClone(spec)) as ResolvedSpec;
}
