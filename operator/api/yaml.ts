/**
 * YAML for generated manifests: block style for people reading the CRD, and a string is written
 * plain only when YAML would read it back as the same string, otherwise JSON-quoted (a JSON
 * string is a valid YAML double-quoted scalar). Only JSON values are supported, which is all a
 * manifest holds; key order is kept, so the output is stable for the staleness test.
 */
const PLAIN = /^[A-Za-z_/.][A-Za-z0-9_ ./()-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

function scalar(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return PLAIN.test(v) && !RESERVED.test(v) && !v.endsWith(' ') ? v : JSON.stringify(v);
  throw new Error(`cannot write ${typeof v} as YAML`);
}

const isCollection = (v: unknown): v is object => typeof v === 'object' && v !== null;
const isEmpty = (v: object): boolean => (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);

function lines(value: unknown, indent: string): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (!isCollection(item) || isEmpty(item)) return [`${indent}- ${inline(item)}`];
      const [first, ...rest] = lines(item, `${indent}  `);
      return [`${indent}- ${first!.slice(indent.length + 2)}`, ...rest];
    });
  }
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    isCollection(v) && !isEmpty(v) ? [`${indent}${scalar(k)}:`, ...lines(v, `${indent}  `)] : [`${indent}${scalar(k)}: ${inline(v)}`],
  );
}

const inline = (v: unknown): string => (isCollection(v) ? (Array.isArray(v) ? '[]' : '{}') : scalar(v));

export function toYaml(value: object): string {
  return lines(value, '').join('\n') + '\n';
}
