import { debuglog } from 'node:util';
import { loadByteSwap } from './libdeflate-addon.js';

/**
 * Turns big-endian values into host order in place, `size` bytes each: the zlib-inflate addon's
 * loop when it is built (compiled with an AVX2 clone: Node itself is built for baseline x86-64,
 * where Buffer's swap32 moves about 15 GB/s against the addon's 90), else Buffer's swap16/32/64.
 * Same bytes either way; a worker swaps every basket it inflates (4% of a pass with Buffer's).
 */
let swap: ((bytes: Uint8Array, size: 2 | 4 | 8) => void) | undefined;

export function swapInPlace(bytes: Uint8Array, size: 2 | 4 | 8): void {
  (swap ??= chooseSwap())(bytes, size);
}

function chooseSwap(): (bytes: Uint8Array, size: 2 | 4 | 8) => void {
  const native = loadByteSwap();
  if (typeof native !== 'string') return native;
  debuglog('hzz')('byte swap: Buffer (%s)', native);
  return bufferSwap;
}

/** Buffer's own swaps, for a process without the addon. */
export function bufferSwap(bytes: Uint8Array, size: 2 | 4 | 8): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (size === 4) buf.swap32();
  else if (size === 8) buf.swap64();
  else buf.swap16();
}
