import { inflateSync } from 'node:zlib';
import { R__unzip } from 'jsroot/io';

/**
 * ROOT compresses a basket as a series of blocks, each with a 9-byte header: a 2-letter algorithm
 * tag, a method byte, then the compressed and uncompressed sizes as 24-bit little-endian numbers.
 * ZLIB ("ZL") is what ATLAS Open Data uses; it goes through Node's native zlib, which is several
 * times faster than jsroot's JavaScript inflate. Any other algorithm (LZ4, ZSTD, LZMA) falls back to
 * jsroot's own decoder, so nothing jsroot can read is lost.
 */
const HEADER = 9;

export async function decompressBlocks(src: Uint8Array, uncompressedSize: number, what: string): Promise<Uint8Array> {
  if (isAllZlib(src)) return inflateZlibBlocks(src, uncompressedSize, what);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out: DataView | null = await R__unzip(view, uncompressedSize, true);
  if (!out || out.byteLength !== uncompressedSize) {
    throw new Error(`${what}: cannot decompress (expected ${uncompressedSize} bytes)`);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function isAllZlib(src: Uint8Array): boolean {
  for (let pos = 0; pos + HEADER <= src.length; pos += HEADER + size24(src, pos + 3)) {
    if (src[pos] !== 0x5a || src[pos + 1] !== 0x4c) return false; // "ZL"
  }
  return true;
}

function inflateZlibBlocks(src: Uint8Array, uncompressedSize: number, what: string): Uint8Array {
  // Most baskets are one block (a block holds up to 16 MiB): inflate straight into the result.
  // An output chunk of the exact size spares zlib's default 16 KiB pieces and their concatenation.
  if (HEADER + size24(src, 3) === src.length) {
    const block = inflateSync(src.subarray(HEADER), { chunkSize: Math.max(64, uncompressedSize), maxOutputLength: uncompressedSize });
    if (block.length !== uncompressedSize) throw new Error(`${what}: inflated ${block.length} bytes, expected ${uncompressedSize}`);
    return block;
  }
  const out = new Uint8Array(uncompressedSize);
  let pos = 0;
  let written = 0;
  while (written < uncompressedSize) {
    if (pos + HEADER > src.length) {
      throw new Error(`${what}: compressed data ends after ${written} of ${uncompressedSize} bytes`);
    }
    const csize = size24(src, pos + 3);
    const usize = size24(src, pos + 6);
    const block = inflateSync(src.subarray(pos + HEADER, pos + HEADER + csize), { chunkSize: Math.max(64, usize) });
    if (block.length !== usize || written + usize > uncompressedSize) {
      throw new Error(`${what}: corrupt compressed block at byte ${pos}`);
    }
    out.set(block, written);
    written += usize;
    pos += HEADER + csize;
  }
  return out;
}

const size24 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
