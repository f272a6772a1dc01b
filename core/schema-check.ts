import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { badInput } from './contracts/errors.js';

/**
 * Validates `value` against a TypeBox schema and returns it typed, or throws a bad-input error that
 * names the document and lists each wrong field by its JSON pointer.
 */
export function checked<S extends TSchema>(schema: S, value: unknown, what: string): Static<S> {
  if (Value.Check(schema, value)) return value;
  const problems = [...Value.Errors(schema, value)].slice(0, 8).map((e) => `${e.path || '/'}: ${e.message}`);
  throw badInput(what, `invalid: ${[...new Set(problems)].join('; ')}`);
}
