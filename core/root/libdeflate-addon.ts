import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { InflateEngine } from './inflate-into.js';

/**
 * libdeflate through the project's native addon (zlib-inflate/, built into build/ by
 * zlib-inflate/build.sh): on ROOT's level-1 baskets it inflates about 1.2 times as fast as Node's
 * zlib, in the same call shape (whole stream in, caller's memory out, nothing allocated).
 * It also swaps bytes, six times as fast as Buffer's swap32 (byte-swap.ts).
 * The addon is optional: a checkout or image without it, or a machine without libdeflate's shared
 * library, gets the reason instead, and inflate-into.ts stays on Node's zlib, byte-swap.ts on Buffer's.
 */
interface Addon { inflate(src: Uint8Array, out: Uint8Array, outLength: number): number; swap(bytes: Uint8Array, size: number): void; library: string }

export const ADDON_PATH = fileURLToPath(new URL('../../../build/zlib-inflate.node', import.meta.url));

/** The addon at `path`, or why there is none. */
function loadAddon(path: string): Addon | string {
  let addon: Partial<Addon>;
  try {
    addon = createRequire(import.meta.url)(path) as Partial<Addon>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'MODULE_NOT_FOUND' ? `${path} not built (bash zlib-inflate/build.sh)` : `${path}: ${e.message.split('\n')[0]}`;
  }
  const { inflate, swap, library } = addon;
  if (typeof inflate !== 'function' || typeof swap !== 'function' || typeof library !== 'string') return `${path} is not the zlib-inflate addon this build expects (bash zlib-inflate/build.sh)`;
  return { inflate, swap, library };
}

/** The engine over the addon at `path`, or why there is none. */
export function loadLibdeflate(path = ADDON_PATH): InflateEngine | string {
  const addon = loadAddon(path);
  if (typeof addon === 'string') return addon;
  const { inflate, library } = addon;
  return {
    name: `${library} (native addon)`,
    inflateInto(src, out, size, what) {
      const produced = inflate(src, out, size + 1);
      if (produced === -1) throw new Error(`${what}: corrupt zlib data`);
      if (produced === -2) throw new Error(`${what}: inflated more than ${size} bytes`);
      if (produced === -3) throw new Error(`${what}: compressed bytes left after the stream's end`);
      return out.subarray(0, produced);
    },
  };
}

/** The addon's byte swap (reverses each `size`-byte value of `bytes` in place), or why there is none. */
export function loadByteSwap(path = ADDON_PATH): ((bytes: Uint8Array, size: 2 | 4 | 8) => void) | string {
  const addon = loadAddon(path);
  return typeof addon === 'string' ? addon : addon.swap;
}
