import { nodeZlib, type InflateEngine } from '../../core/root/inflate-into.js';
import { loadLibdeflate } from '../../core/root/libdeflate-addon.js';

/** The addon's engine; the tests of it fail, naming why, on a checkout where it is not built. */
export function libdeflate(): InflateEngine {
  const engine = loadLibdeflate();
  if (typeof engine === 'string') throw new Error(`these tests need the zlib-inflate addon: ${engine}`);
  return engine;
}

/** Both engines a process may inflate with, for tests that hold for either. */
export const bothEngines = (): InflateEngine[] => [libdeflate(), nodeZlib];
