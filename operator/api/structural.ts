/**
 * TypeBox schema → a Kubernetes structural schema (apiextensions.k8s.io/v1 JSONSchemaProps).
 *
 * TypeBox writes JSON Schema 2019-style keywords that a CRD does not accept: `const`, numeric
 * `exclusiveMinimum`, `patternProperties` for records (a key pattern becomes a CEL rule), `anyOf`
 * for unions, and `additionalProperties: false`, which a structural schema forbids beside
 * `properties` (the API server prunes unknown fields instead). Each is rewritten into its
 * Kubernetes form here; any
 * keyword not listed is an error, so the generator never drops a constraint silently.
 */
type Json = Record<string, unknown>;

const PASS_THROUGH = new Set([
  'type', 'description', 'default', 'format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum',
  'minItems', 'maxItems', 'maxProperties', 'enum', 'nullable', 'x-kubernetes-validations', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string',
]);

// The order keys are written in: what a field is first, its constraints next, its children last.
const KEY_ORDER = [
  'description', 'type', 'format', 'enum', 'default', 'x-kubernetes-int-or-string', 'minimum', 'exclusiveMinimum', 'maximum',
  'exclusiveMaximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'maxProperties', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-validations', 'required', 'properties', 'additionalProperties', 'items',
];

export function structuralSchema(schema: unknown, at = '#'): Json {
  const out = convert(schema as Json, at);
  const rank = (k: string): number => (KEY_ORDER.includes(k) ? KEY_ORDER.indexOf(k) : KEY_ORDER.length);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => rank(a) - rank(b)));
}

function convert(s: Json, at: string): Json {
  const out: Json = {};
  let keyPattern: string | undefined;
  const anyOf = s.anyOf as Json[] | undefined;
  if (anyOf) Object.assign(out, unionToStructural(anyOf, at));
  for (const [key, value] of Object.entries(s)) {
    if (key === 'anyOf') continue;
    if (PASS_THROUGH.has(key)) out[key] = value;
    else if (key === 'const') Object.assign(out, { enum: [value] });
    else if (key === 'exclusiveMinimum' || key === 'exclusiveMaximum') {
      out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
      out[key] = true;
    } else if (key === 'properties') {
      if (Object.keys(value as Json).length === 0) continue;
      out.properties = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, structuralSchema(v, `${at}/properties/${k}`)]));
    } else if (key === 'required') {
      if ((value as string[]).length > 0) out.required = value;
    } else if (key === 'items') out.items = structuralSchema(value, `${at}/items`);
    else if (key === 'additionalProperties') {
      if (value !== false) out.additionalProperties = structuralSchema(value, `${at}/additionalProperties`);
    } else if (key === 'patternProperties') {
      const patterns = Object.entries(value as Json);
      if (patterns.length !== 1) throw new Error(`${at}: only Type.Record(Type.String(…), …) maps are supported`);
      const [pattern, values] = patterns[0]!;
      out.additionalProperties = structuralSchema(values, `${at}/additionalProperties`);
      if (pattern !== '^(.*)$') keyPattern = pattern;
    } else throw new Error(`${at}: keyword '${key}' has no structural-schema form`);
  }
  if (keyPattern !== undefined) out['x-kubernetes-validations'] = [...(out['x-kubernetes-validations'] as Json[] | undefined ?? []), keyRule(keyPattern)];
  return out;
}

/** A map's key pattern as a CEL rule (RE2's matches(); the patterns here are plain character classes, read alike by RE2 and ECMA-262). */
function keyRule(pattern: string): Json {
  const literal = `'${pattern.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return { rule: `self.all(k, k.matches(${literal}))`, message: `every key must match ${pattern}` };
}

function unionToStructural(anyOf: Json[], at: string): Json {
  if (anyOf.every((a) => 'const' in a)) {
    const types = new Set(anyOf.map((a) => a.type));
    if (types.size !== 1) throw new Error(`${at}: a union of literals must have one type`);
    return { type: [...types][0], enum: anyOf.map((a) => a.const) };
  }
  const types = anyOf.map((a) => a.type).sort();
  if (anyOf.length === 2 && types[0] === 'integer' && types[1] === 'string') return { 'x-kubernetes-int-or-string': true };
  throw new Error(`${at}: only unions of literals and of integer|string have a structural form`);
}
