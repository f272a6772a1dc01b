import type { BasketMemory } from './basket-memory.js';
import { swapInPlace } from './byte-swap.js';

/**
 * Columnar decoding of one basket: the whole basket becomes one typed array (plus per-entry offsets
 * for jagged branches), the way uproot casts a basket into arrays. No object per event is made.
 */
export type ElementType = 'f4' | 'f8' | 'i4' | 'u4' | 'i2' | 'u2' | 'i1' | 'u1' | 'bool';

export type Values = Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

/** How a branch lays out its entries inside a basket. */
export type Layout =
  | 'scalar' // one fixed-size value per entry
  | 'counted' // a C array whose length another leaf counts: just the values, entry offsets in the trailer
  | 'stl-vector'; // std::vector<T> or ROOT::VecOps::RVec<T>: per entry a 10-byte header, then the values

export interface Column {
  /** First entry (of the tree) held by this column. */
  entryStart: number;
  entryStop: number;
  values: Values;
  /** For jagged layouts: entry i's values are values[offsets[i] .. offsets[i+1]). */
  offsets?: Int32Array;
}

export const elementSize: Record<ElementType, number> = {
  f4: 4, f8: 8, i4: 4, u4: 4, i2: 2, u2: 2, i1: 1, u1: 1, bool: 1,
};

/**
 * Views big-endian bytes as a typed array of host byte order, swapping them in place: the bytes are
 * the reader's own basket memory, so no copy of the basket is made.
 */
export function fromBigEndian(type: ElementType, bytes: Uint8Array): Values {
  const size = elementSize[type];
  const n = Math.floor(bytes.length / size);
  if (bytes.byteOffset % size !== 0) throw new RangeError(`basket memory at offset ${bytes.byteOffset} is not aligned for ${type}`);
  if (size > 1) swapInPlace(bytes.subarray(0, n * size), size as 2 | 4 | 8);
  const { buffer: ab, byteOffset: at } = bytes;
  switch (type) {
    case 'f4': return new Float32Array(ab, at, n);
    case 'f8': return new Float64Array(ab, at, n);
    case 'i4': return new Int32Array(ab, at, n);
    case 'u4': return new Uint32Array(ab, at, n);
    case 'i2': return new Int16Array(ab, at, n);
    case 'u2': return new Uint16Array(ab, at, n);
    case 'i1': return new Int8Array(ab, at, n);
    case 'u1':
    case 'bool': return new Uint8Array(ab, at, n);
  }
}

export interface BasketPayload {
  /** The uncompressed basket after its key: entry data, then (for jagged layouts) the offsets. */
  data: Uint8Array;
  keylen: number;
  /** End of the entry data, counted from the start of the key as ROOT does. */
  last: number;
  entries: number;
  /** Where each entry starts, counted from the start of the key; undefined for fixed-size entries. */
  entryOffsets?: Int32Array | undefined;
}

const STL_HEADER = 10; // byte count (4), class version (2), element count (4)

/**
 * Decodes a basket whose `data` lies in `memory` (and is overwritten): the column's arrays are views
 * of that memory, valid until the branch's next basket is decoded into it. A basket read without
 * its entry-offset table finds its entries otherwise: a counted one from `counter`, the decoded
 * basket of its counter branch covering all its entries, as ROOT's own TLeaf reads them; a
 * std::vector one by reading each entry's header in turn, its length telling where the next starts.
 */
export function decodeBasket(layout: Layout, type: ElementType, p: BasketPayload, entryStart: number, what: string, memory: BasketMemory, counter?: Counter): Column {
  const size = elementSize[type];
  const dataEnd = p.last - p.keylen;
  const entryStop = entryStart + p.entries;
  if (dataEnd < 0 || dataEnd > p.data.length) throw new Error(`${what}: basket data end ${dataEnd} outside ${p.data.length} bytes`);
  if (layout === 'scalar') {
    if (dataEnd < p.entries * size) throw new Error(`${what}: basket holds ${dataEnd} bytes for ${p.entries} entries`);
    return { entryStart, entryStop, values: fromBigEndian(type, p.data.subarray(0, p.entries * size)) };
  }
  const eo = p.entryOffsets;
  const offsets = memory.int32('offsets', p.entries + 1);
  if (layout === 'counted' && !eo && counter) return countedBy(counter, type, p, entryStart, what, offsets);
  // A table too short, or a counted basket read with neither its table nor its counter.
  if (eo ? eo.length < p.entries : layout === 'counted') throw new Error(`${what}: basket has no entry offsets`);
  if (layout === 'counted') {
    // A shift, not a division: this loop runs for every entry of every jagged basket.
    const shift = 31 - Math.clz32(size);
    const keylen = p.keylen;
    for (let i = 0; i < p.entries; i++) offsets[i] = (eo![i]! - keylen) >> shift;
    offsets[p.entries] = dataEnd / size;
    return { entryStart, entryStop, values: fromBigEndian(type, p.data.subarray(0, dataEnd)), offsets };
  }
  // STL-like: gather the payloads of all entries into one contiguous big-endian buffer first. Each
  // entry starts where its offset says or, read without the table, where the one before it ends.
  const view = new DataView(p.data.buffer, p.data.byteOffset, p.data.byteLength);
  const starts = memory.int32('starts', p.entries);
  let total = 0;
  let at = 0;
  for (let i = 0; i < p.entries; i++) {
    if (eo) at = eo[i]! - p.keylen;
    starts[i] = at;
    offsets[i] = total;
    const n = at >= 0 && at + STL_HEADER <= dataEnd ? view.getInt32(at + 6, false) : -1;
    if (n < 0 || at + STL_HEADER + n * size > dataEnd) throw new Error(`${what}: corrupt entry ${entryStart + i} at byte ${at}`);
    total += n;
    at += STL_HEADER + n * size;
  }
  if (!eo && at !== dataEnd) throw new Error(`${what}: its entries end at byte ${at} of its ${dataEnd} bytes of data`);
  offsets[p.entries] = total;
  const packed = memory.bytes('packed', total * size);
  const data = p.data;
  // Byte by byte: a subarray per entry to set() from would be an object per event.
  for (let i = 0; i < p.entries; i++) {
    let from = starts[i]! + STL_HEADER;
    for (let to = offsets[i]! * size, end = offsets[i + 1]! * size; to < end; to++) packed[to] = data[from++]!;
  }
  return { entryStart, entryStop, values: fromBigEndian(type, packed.subarray(0, total * size)), offsets };
}

/**
 * A counter branch's decoded basket, as the counted baskets it holds the entries of use it: with the
 * running sums of its values over the last entry range asked for, kept in its own memory, which its
 * counted branches (all the lepton branches of one counter, whose baskets hold the same entries in
 * aligned files) copy instead of working out again.
 */
export interface Counter {
  column: Column;
  memory: BasketMemory;
  sums?: { of: Column; entryStart: number; entries: number; offsets: Int32Array };
}

/** Whether column `c` holds every entry of [entryStart, entryStop): a counter must, for the baskets it counts. */
export const holdsEntries = (c: Column, entryStart: number, entryStop: number): boolean => c.entryStart <= entryStart && c.entryStop >= entryStop;

/** A counted basket's column, its offsets the running sum of its counter's values over its entries. */
function countedBy(counter: Counter, type: ElementType, p: BasketPayload, entryStart: number, what: string, offsets: Int32Array): Column {
  const { column: c } = counter;
  const from = entryStart - c.entryStart;
  if (!holdsEntries(c, entryStart, entryStart + p.entries)) throw new Error(`${what}: its counter's basket holds entries [${c.entryStart}, ${c.entryStop}), not all of its own`);
  const dataEnd = p.last - p.keylen;
  const held = dataEnd / elementSize[type];
  let s = counter.sums;
  if (!(s && s.of === c && s.entryStart === entryStart && s.entries === p.entries)) {
    const sums = counter.memory.int32('sums', p.entries + 1);
    const counts = c.values;
    let total = 0;
    // One test after the loop, not one per entry: a negative count sets the sign bit here.
    let signs = 0;
    for (let i = 0; i < p.entries; i++) {
      sums[i] = total;
      const n = counts[from + i]!;
      signs |= n;
      total += n;
    }
    sums[p.entries] = total;
    if (signs < 0) {
      const at = Array.prototype.findIndex.call(counts.subarray(from, from + p.entries), (n: number) => (n | 0) < 0);
      throw new Error(`${what}: its counter counts ${counts[from + at]} values for entry ${entryStart + at}`);
    }
    counter.sums = s = { of: c, entryStart, entries: p.entries, offsets: sums };
  }
  const total = s.offsets[p.entries]!;
  if (total !== held) throw new Error(`${what}: its counter counts ${total} values in its entries, the basket holds ${held}`);
  offsets.set(s.offsets);
  return { entryStart, entryStop: entryStart + p.entries, values: fromBigEndian(type, p.data.subarray(0, dataEnd)), offsets };
}
