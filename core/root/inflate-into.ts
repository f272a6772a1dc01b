import { createInflate, inflateSync, type Inflate } from 'node:zlib';

/**
 * Inflates one zlib stream into memory the caller owns. A worker reads basket after basket; with
 * Node's inflateSync every basket leaves a dead output buffer behind, and V8 collects such external
 * memory only after tens of megabytes have piled up, so a worker's peak memory grew with the amount
 * it read (docs/performance.md). Node's public zlib API always allocates its output, so this drives
 * the native zlib handle behind a zlib.Inflate with writeSync, the very call inflateSync makes.
 * Should a Node release change that handle, inflation falls back to inflateSync and a copy: the same
 * bytes, only more garbage.
 */
interface NativeZlib {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
}

interface Engine { stream: Inflate; handle: NativeZlib; state: Uint32Array }

const Z_FINISH = 4;
let engine: Engine | null | undefined;

/**
 * Inflates `src` into `out[0, size)` and returns that view. `out` needs at least one byte more than
 * `size`: a stream that ends early then leaves room zlib reports as an unexpected end, instead of
 * looking complete.
 */
export function inflateInto(src: Uint8Array, out: Uint8Array, size: number, what: string): Uint8Array {
  if (out.length <= size) throw new RangeError(`${what}: output room ${out.length} must exceed ${size} bytes`);
  const e = engine === undefined ? (engine = nativeEngine()) : engine;
  if (!e) return inflateByCopy(src, out, size, what);
  e.handle.reset();
  e.handle.writeSync(Z_FINISH, src, 0, src.length, out, 0, size + 1);
  const [availOut, availIn] = e.state;
  // A data error makes Node destroy the stream (closing the handle); the next call starts afresh.
  if ((e.stream as unknown as { _handle: unknown })._handle !== e.handle) {
    engine = undefined;
    throw new Error(`${what}: corrupt zlib data`);
  }
  const produced = size + 1 - availOut!;
  if (produced !== size || availIn !== 0) {
    throw new Error(`${what}: inflated ${produced} bytes${availIn ? ` with ${availIn} compressed bytes left` : ''}, expected ${size}`);
  }
  return out.subarray(0, size);
}

/** What inflateInto does with Node's public API only; also the reference the tests compare with. */
export function inflateByCopy(src: Uint8Array, out: Uint8Array, size: number, what: string): Uint8Array {
  let block: Buffer;
  try {
    block = inflateSync(src, { chunkSize: Math.max(64, size + 1), maxOutputLength: size + 1 });
  } catch (err) {
    throw new Error(`${what}: corrupt zlib data (${(err as Error).message})`);
  }
  if (block.length !== size) throw new Error(`${what}: inflated ${block.length} bytes, expected ${size}`);
  out.set(block);
  return out.subarray(0, size);
}

function nativeEngine(): Engine | null {
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
