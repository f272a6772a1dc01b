import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../util/canonical-json.js';
import type { PartialHistogram } from './messages.js';

/**
 * What makes a partial unforgeable across analyses: an HMAC-SHA256 over its canonical JSON (every
 * field but `signature`), keyed with its analysis's own key. Whoever runs a chunk of one analysis
 * holds that analysis's key only, so a partial made up for another analysis's chunk, however well
 * formed, does not verify there. The key reaches the workers as HZZ_PARTIAL_KEY and the plotter
 * inside the plan (`partialKey`), which only the operator (or `hzz run --broker`) may publish
 * (docs/contracts.md, "Who may say what"). Keys are 32 bytes, hex.
 */
export const PARTIAL_KEY_ENV = 'HZZ_PARTIAL_KEY';

/** `hzz run --broker`: a run's own key, random. */
export function drawPartialKey(): string {
  return randomBytes(32).toString('hex');
}

/**
 * A cluster analysis's key: HMAC-SHA256(master key, the analysis's uid). Derived, not stored, so a
 * restarted operator, a standby that takes over and every re-planned generation hand out the same
 * key without reading anything back; a resource deleted and created again under its name has a new
 * uid, so a new key.
 */
export function derivePartialKey(masterKey: string, uid: string): string {
  return createHmac('sha256', masterKey).update(uid).digest('hex');
}

export function signPartial(p: PartialHistogram, key: string): PartialHistogram {
  return { ...p, signature: signatureOf(p, key) };
}

/** Why the partial's signature does not hold under `key`, or undefined when it does. */
export function signatureProblem(p: PartialHistogram, key: string | undefined): string | undefined {
  if (key === undefined) return 'its plan names no key to verify it with';
  if (p.signature === undefined) return 'it carries no signature';
  const expected = Buffer.from(signatureOf(p, key), 'hex');
  const given = Buffer.from(p.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'its signature does not match its analysis\'s key';
  return undefined;
}

function signatureOf(p: PartialHistogram, key: string): string {
  const body: Partial<PartialHistogram> = { ...p };
  delete body.signature;
  return createHmac('sha256', Buffer.from(key, 'hex')).update(canonicalJson(body)).digest('hex');
}
