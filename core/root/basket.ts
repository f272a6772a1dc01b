import type { BasketMemory } from './basket-memory.js';
import type { JsrootBasket } from './branch.js';
import { fromBigEndian, type BasketPayload } from './columns.js';
import { decompressBlocks } from './decompress.js';

/**
 * Basket parsing: a basket's bytes (on disk: its key with the TBasket header, then the data;
 * or embedded in the TTree object by jsroot) into its payload (the uncompressed data, the entry
 * count and the entry offsets), in the branch's own reusable memory. columns.ts turns a payload
 * into typed arrays.
 */

/** A basket jsroot read inside the TTree object: copied into the slot, as decoding overwrites it. */
export function embeddedPayload(bk: JsrootBasket, memory: BasketMemory): BasketPayload {
  const arr = bk.fBufferRef?.arr;
  const n = arr?.byteLength ?? 0;
  const data = memory.bytes('data', n).subarray(0, n);
  if (arr) data.set(new Uint8Array(arr.buffer, arr.byteOffset, n));
  let entryOffsets: Int32Array | undefined;
  if (bk.fEntryOffset) {
    entryOffsets = memory.int32('entryOffsets', bk.fEntryOffset.length);
    for (let i = 0; i < entryOffsets.length; i++) entryOffsets[i] = bk.fEntryOffset[i]!;
  }
  return { data, keylen: bk.fKeylen, last: bk.fLast, entries: bk.fNevBuf, entryOffsets };
}

/**
 * Parses a basket as stored on disk: its key (with the TBasket header at the key's end), then data,
 * which lands in the slot's memory, inflated or copied. With `offsets` the entry-offset table after
 * the data is read too; without, inflating stops at the data's end, as the table is either absent
 * (fixed-size entries) or not needed: entries counted by another branch (tree.ts), or std::vector
 * entries, each of which starts with its length (columns.ts).
 */
export async function diskPayload(raw: DataView, offsets: boolean, what: string, memory: BasketMemory): Promise<BasketPayload> {
  const nbytes = raw.getInt32(0, false);
  const objlen = raw.getInt32(6, false);
  const keylen = raw.getInt16(14, false);
  if (nbytes !== raw.byteLength || keylen <= 0 || keylen > nbytes || objlen <= 0) {
    throw new Error(`${what}: not a basket (key says ${nbytes} bytes, ${raw.byteLength} read)`);
  }
  // The TBasket header ends the key: ..., fNevBuf (4), fLast (4), flag (1).
  const entries = raw.getInt32(keylen - 9, false);
  const last = raw.getInt32(keylen - 5, false);
  if (last < keylen || last - keylen > objlen) throw new Error(`${what}: its data ends at byte ${last}, outside the basket's ${keylen} + ${objlen}`);
  const stored = new Uint8Array(raw.buffer, raw.byteOffset + keylen, nbytes - keylen);
  const room = memory.bytes('data', objlen);
  let data: Uint8Array;
  if (objlen === stored.length) {
    data = room.subarray(0, objlen);
    data.set(stored);
  } else {
    data = await decompressBlocks(stored, room, objlen, what, undefined, offsets ? objlen : last - keylen);
  }
  let entryOffsets: Int32Array | undefined;
  if (offsets) {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const at = last - keylen;
    const n = dv.getInt32(at, false);
    if (n < entries || at + 4 + 4 * n > data.length) throw new Error(`${what}: bad entry offset table`);
    entryOffsets = bigEndianInt32(data.subarray(at + 4, at + 4 + 4 * n), memory);
  }
  return { data, keylen, last, entries, entryOffsets };
}

/**
 * The table's big-endian integers as an Int32Array, one byte swap over the whole table: in place
 * where the table lies 4-byte aligned in the basket's memory (it is read once and never again),
 * else through the slot's own integer memory.
 */
function bigEndianInt32(table: Uint8Array, memory: BasketMemory): Int32Array {
  if (table.byteOffset % 4 === 0) return fromBigEndian('i4', table) as Int32Array;
  const out = memory.int32('entryOffsets', table.length / 4);
  new Uint8Array(out.buffer, out.byteOffset, table.length).set(table);
  return fromBigEndian('i4', new Uint8Array(out.buffer, out.byteOffset, table.length)) as Int32Array;
}
