import { R__unzip } from 'jsroot/io';
import { inflateEngine, inflateInto, inflatePrefix, type InflateEngine } from './inflate-into.js';

/**
 * ROOT compresses a basket as a series of blocks, each with a 9-byte header: a 2-letter algorithm
 * tag, a method byte, then the compressed and uncompressed sizes as 24-bit little-endian numbers.
 * ZLIB ("ZL") is what ATLAS Open Data uses; it goes through native code (libdeflate or Node's zlib,
 * inflate-into.ts), several times faster than jsroot's JavaScript inflate, straight into the
 * caller's memory. Any other algorithm (LZ4, ZSTD, LZMA) falls back to jsroot's own decoder, so nothing jsroot can read is lost.
 */
const HEADER = 9;

/**
 * Decompresses `src` (`size` bytes uncompressed) into `out` and returns a view of at least its
 * first `need` bytes; `out` must hold at least one byte more than `size` (see inflateInto). ZLIB
 * blocks go through `engine`, by default the process's own, and stop after `need` bytes when they
 * can (inflatePrefix); other algorithms decompress whole.
 */
export async function decompressBlocks(src: Uint8Array, out: Uint8Array, size: number, what: string, engine = inflateEngine(), need = size): Promise<Uint8Array> {
  if (isAllZlib(src)) return inflateZlibBlocks(src, out, size, Math.min(need, size), what, engine);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const unzipped: DataView | null = await R__unzip(view, size, true);
  if (!unzipped || unzipped.byteLength !== size) {
    throw new Error(`${what}: cannot decompress (expected ${size} bytes)`);
  }
  out.set(new Uint8Array(unzipped.buffer, unzipped.byteOffset, size));
  return out.subarray(0, size);
}

function isAllZlib(src: Uint8Array): boolean {
  for (let pos = 0; pos + HEADER <= src.length; pos += HEADER + size24(src, pos + 3)) {
    if (src[pos] !== 0x5a || src[pos + 1] !== 0x4c) return false; // "ZL"
  }
  return true;
}

function inflateZlibBlocks(src: Uint8Array, out: Uint8Array, size: number, need: number, what: string, engine: InflateEngine): Uint8Array {
  let pos = 0;
  let written = 0;
  while (written < need) {
    if (pos + HEADER > src.length) {
      throw new Error(`${what}: compressed data ends after ${written} of ${size} bytes`);
    }
    const csize = size24(src, pos + 3);
    const usize = size24(src, pos + 6);
    if (written + usize > size || pos + HEADER + csize > src.length) {
      throw new Error(`${what}: corrupt compressed block at byte ${pos}`);
    }
    const stream = src.subarray(pos + HEADER, pos + HEADER + csize);
    const where = `${what} (block at byte ${pos})`;
    // The block the needed bytes end in, when they end before it does.
    if (written + usize > need && inflatePrefix(stream, out.subarray(written), need - written, where)) return out.subarray(0, need);
    inflateInto(stream, out.subarray(written), usize, where, engine);
    written += usize;
    pos += HEADER + csize;
  }
  return out.subarray(0, written);
}

const size24 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
