import { closeSync, openSync, readSync } from 'node:fs';
import { openFile } from 'jsroot/io';

/**
 * Every compressed record of a ROOT file that the analysis could inflate: each top-level key (the
 * TTree with the baskets it holds itself, the streamer info, …) and every basket on disk of every
 * branch, sub-branches included, of every tree. jsroot only says where they are; each record is
 * read raw and its own key header says how it is stored. Yielded as views over one reused buffer,
 * each valid until the next.
 */
export interface CompressedRecord { at: number; className: string; stored: Uint8Array; objlen: number }

interface Place { at: number; bytes: number; className: string }
interface Branch { fWriteBasket: number; fBasketSeek: ArrayLike<number>; fBasketBytes: ArrayLike<number>; fBranches?: { arr: Branch[] } }
interface Key { fName: string; fCycle: number; fClassName: string; fSeekKey: number; fNbytes: number }
interface File { fKeys: Key[]; fSeekInfo: number; fNbytesInfo: number; readObject(name: string): Promise<{ fBranches: { arr: Branch[] } }> }

async function places(file: string): Promise<Place[]> {
  const f = (await openFile(file)) as File;
  const found: Place[] = [{ at: f.fSeekInfo, bytes: f.fNbytesInfo, className: 'TList' }];
  const baskets = (b: Branch) => {
    for (let k = 0; k < b.fWriteBasket; k++) found.push({ at: Number(b.fBasketSeek[k]), bytes: Number(b.fBasketBytes[k]), className: 'TBasket' });
    b.fBranches?.arr.forEach(baskets);
  };
  for (const key of f.fKeys) {
    found.push({ at: key.fSeekKey, bytes: key.fNbytes, className: key.fClassName });
    if (key.fClassName === 'TTree') (await f.readObject(`${key.fName};${key.fCycle}`)).fBranches.arr.forEach(baskets);
  }
  return found;
}

export async function* compressedRecords(file: string): AsyncGenerator<CompressedRecord> {
  const fd = openSync(file, 'r');
  try {
    let buf = Buffer.alloc(1 << 20);
    for (const { at, bytes, className } of await places(file)) {
      if (buf.length < bytes) buf = Buffer.alloc(2 * bytes);
      if (readSync(fd, buf, 0, bytes, at) !== bytes || buf.readInt32BE(0) !== bytes) throw new Error(`${file}: no ${bytes}-byte ${className} record at byte ${at}`);
      const objlen = buf.readInt32BE(6);
      const keylen = buf.readInt16BE(14);
      if (objlen > bytes - keylen) yield { at, className, stored: buf.subarray(keylen, bytes), objlen };
    }
  } finally {
    closeSync(fd);
  }
}
