import { debuglog } from 'node:util';
import { createInflate, inflateSync, type Inflate } from 'node:zlib';
import { badInput } from '../contracts/errors.js';
import { loadLibdeflate } from './libdeflate-addon.js';

/**
 * Inflates one zlib stream into memory the caller owns. A worker reads basket after basket; with
 * Node's inflateSync every basket leaves a dead output buffer behind, and V8 collects such external
 * memory only after tens of megabytes have piled up, so a worker's peak memory grew with the amount
 * it read (docs/performance.md). Inflate is also most of a worker's time, so the engine is the
 * fastest one this process has: libdeflate through the project's native addon when it is built
 * (libdeflate-addon.ts), else the native zlib handle behind a zlib.Inflate driven with writeSync
 * (the very call Node's inflateSync makes, but into our buffer), else, should a Node release change
 * that handle, inflateSync and a copy. All give the same bytes; the last leaves garbage.
 * HZZ_INFLATE=zlib keeps a process on Node's zlib; HZZ_INFLATE=libdeflate fails when the addon
 * cannot be loaded. NODE_DEBUG=hzz logs which engine a process uses, and why.
 */
export interface InflateEngine {
  readonly name: string;
  /** Inflates into `out`, which has room for more than `size` bytes, and returns what it wrote. */
  inflateInto(src: Uint8Array, out: Uint8Array, size: number, what: string): Uint8Array;
}

/**
 * Inflates `src` into `out[0, size)` and returns that view. `out` needs at least one byte more than
 * `size`: a stream that ends early then leaves room the engine reports as too short or too long,
 * instead of looking complete.
 */
export function inflateInto(src: Uint8Array, out: Uint8Array, size: number, what: string, engine = inflateEngine()): Uint8Array {
  if (out.length <= size) throw new RangeError(`${what}: output room ${out.length} must exceed ${size} bytes`);
  const view = engine.inflateInto(src, out, size, what);
  if (view.length !== size) throw new Error(`${what}: inflated ${view.length} bytes, expected ${size}`);
  return view;
}

let chosen: InflateEngine | undefined;

/** The engine this process inflates with, chosen on first use (RootFile.open asks before reading). */
export function inflateEngine(): InflateEngine {
  return (chosen ??= chooseEngine(process.env.HZZ_INFLATE, loadLibdeflate));
}

/** What `HZZ_INFLATE=wanted` picks, given how loading the addon turns out (an engine, or why not). */
export function chooseEngine(wanted: string | undefined, load: () => InflateEngine | string): InflateEngine {
  const debug = debuglog('hzz');
  if (wanted === 'zlib') {
    debug('inflate: %s (HZZ_INFLATE=zlib)', nodeZlib.name);
    return nodeZlib;
  }
  if (wanted !== undefined && wanted !== '' && wanted !== 'libdeflate') {
    throw badInput('HZZ_INFLATE', `is '${wanted}': it takes 'libdeflate' or 'zlib'`);
  }
  const addon = load();
  if (typeof addon !== 'string') {
    debug('inflate: %s', addon.name);
    return addon;
  }
  if (wanted === 'libdeflate') throw badInput('HZZ_INFLATE', `is 'libdeflate', but the addon cannot be loaded: ${addon}`);
  debug('inflate: %s (libdeflate: %s)', nodeZlib.name, addon);
  return nodeZlib;
}

/** What Node's public zlib API gives: inflateSync and a copy. Also the reference the tests compare with. */
export const zlibByCopy: InflateEngine = {
  name: "Node's zlib (inflateSync and a copy)",
  inflateInto(src, out, size, what) {
    let block: Buffer;
    try {
      block = inflateSync(src, { chunkSize: Math.max(64, size + 1), maxOutputLength: size + 1 });
    } catch (err) {
      throw new Error(`${what}: corrupt zlib data (${(err as Error).message})`);
    }
    out.set(block);
    return out.subarray(0, block.length);
  },
};

interface NativeZlib {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
}

interface Handle { stream: Inflate; handle: NativeZlib; state: Uint32Array }

const Z_NO_FLUSH = 0;
const Z_FINISH = 4;

/** Node's zlib into our memory, through the native handle; inflateSync and a copy without one. */
export const nodeZlib: InflateEngine = {
  name: `Node's zlib ${process.versions.zlib}`,
  inflateInto(src, out, size, what) {
    const z = zlibHandle();
    if (!z) return zlibByCopy.inflateInto(src, out, size, what);
    const [availOut, availIn] = inflateCall(z, Z_FINISH, src, out, size + 1, what);
    if (availIn !== 0) throw new Error(`${what}: inflated ${size + 1 - availOut} bytes with ${availIn} compressed bytes left, expected ${size}`);
    return out.subarray(0, size + 1 - availOut);
  },
};

/**
 * The first `n` bytes of the zlib stream `src` into `out`, inflating no further; undefined when this
 * Node has no native zlib handle (the caller then inflates the whole stream). A jagged basket whose
 * entry offsets come from its counter branch needs only its data, not the offset table after it
 * (tree.ts), and zlib stops where its output ends; libdeflate inflates whole streams only, so this is
 * Node's zlib whatever the engine. On the large input's baskets, lep_charge's data alone inflates in
 * 57% of libdeflate's time for the whole basket and lep_pt's in 94%.
 */
export function inflatePrefix(src: Uint8Array, out: Uint8Array, n: number, what: string): Uint8Array | undefined {
  const z = zlibHandle();
  if (!z) return undefined;
  const [availOut] = inflateCall(z, Z_NO_FLUSH, src, out, n, what);
  if (availOut !== 0) throw new Error(`${what}: the stream ends after ${n - availOut} of the ${n} bytes of data its basket says it holds`);
  return out.subarray(0, n);
}

let handle: Handle | null | undefined;
const zlibHandle = (): Handle | null => (handle === undefined ? (handle = nativeHandle()) : handle);

/** One inflate call from the start of `src` into out[0, outLen): [avail_out, avail_in] after it. */
function inflateCall(z: Handle, flush: number, src: Uint8Array, out: Uint8Array, outLen: number, what: string): [number, number] {
  z.handle.reset();
  z.handle.writeSync(flush, src, 0, src.length, out, 0, outLen);
  const [availOut, availIn] = z.state;
  // A data error makes Node destroy the stream (closing the handle); the next call starts afresh.
  if ((z.stream as unknown as { _handle: unknown })._handle !== z.handle) {
    handle = undefined;
    throw new Error(`${what}: corrupt zlib data`);
  }
  return [availOut!, availIn!];
}

function nativeHandle(): Handle | null {
  const stream = createInflate();
  // Node reports a data error to the stream as well, later; it is already thrown by then.
  stream.on('error', () => {});
  const inner = stream as unknown as { _handle?: Partial<NativeZlib>; _writeState?: unknown };
  const { _handle: handle, _writeState: state } = inner;
  if (typeof handle?.writeSync !== 'function' || typeof handle.reset !== 'function' || !(state instanceof Uint32Array)) {
    stream.close();
    return null;
  }
  return { stream, handle: handle as NativeZlib, state };
}
