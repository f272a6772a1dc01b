/**
 * JSON with every object's keys in code-unit order and undefined members left out, so that two
 * equal documents give the same text whatever order their keys were written in: to compare two
 * plans, and to hash the spec fields a plan depends on (the hash is stored in the plan's
 * ConfigMap, so this text must not change between releases).
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
