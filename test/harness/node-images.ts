// The images scripts/build-images.sh made for the test node, read from the index it writes.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { NodeImage } from './node-cluster.js';

interface IndexEntry extends NodeImage {
  /** Whether pods run it (the Debian and Node bases are only built on). */
  runtime: boolean;
}

export interface NodeImages {
  /** Every image pods run, to import into the node. */
  all: NodeImage[];
  app: NodeImage;
  rabbitmq: NodeImage;
  pause: NodeImage;
  coredns: NodeImage;
}

export function nodeImages(): NodeImages {
  const dir = process.env.HZZ_IMAGES_DIR || join(homedir(), '.cache', 'hzz-operator', 'images');
  const file = join(dir, 'images.json');
  let images: Record<string, IndexEntry>;
  try {
    images = (JSON.parse(readFileSync(file, 'utf8')) as { images: Record<string, IndexEntry> }).images;
  } catch (err) {
    throw new Error(`no image index at ${file} (${(err as Error).message}): run \`bash scripts/build-images.sh\``);
  }
  const pick = (name: string): NodeImage => {
    const image = images[name];
    if (!image) throw new Error(`${file} has no image "${name}": run \`bash scripts/build-images.sh\``);
    return { ref: image.ref, archive: image.archive };
  };
  return {
    all: Object.values(images).filter((i) => i.runtime).map(({ ref, archive }) => ({ ref, archive })),
    app: pick('app'),
    rabbitmq: pick('rabbitmq'),
    pause: pick('pause'),
    coredns: pick('coredns'),
  };
}
