// Layers that attack the unpacker's memory and disk rather than its paths: extended headers that
// announce gigabytes, and gzip bombs (megabytes of zeros in a few kilobytes). Built from raw tar
// bytes, since no tar writer makes them; their digests and diff ids are honest, so only the
// unpacker's limits can refuse them.
import { gzipSync } from 'node:zlib';
import { block, END_BLOCKS, entry } from './tar-blocks.js';
import { OCI_LAYER_GZIP, sha256, type TarLayer } from './tar-layer.js';

const MiB = 1024 * 1024;

/** A gzip layer of exactly these tar bytes. */
export function rawLayer(tar: Buffer): TarLayer {
  const blob = gzipSync(tar);
  return { blob, tar, digest: sha256(blob), diffId: sha256(tar), size: blob.length, mediaType: OCI_LAYER_GZIP, gzip: true };
}

/** A PAX header ('x') or GNU long name ('L') announcing `size` bytes, followed by 1 MiB of them. */
export function hugeHeaderLayer(type: 'x' | 'L', size: number): TarLayer {
  const head = block({ name: type === 'x' ? 'PaxHeader' : '././@LongLink', type, size, format: type === 'L' ? 'gnu' : 'ustar' });
  return rawLayer(Buffer.concat([head, Buffer.alloc(MiB, 0x61)]));
}

/** `files` files of `fileBytes` zeros each: a layer that is `files × fileBytes` unpacked and tiny packed. */
export function zerosLayer(files: number, fileBytes: number, prefix = 'zero'): TarLayer {
  const zeros = Buffer.alloc(fileBytes);
  const parts = Array.from({ length: files }, (_, i) => entry({ name: `${prefix}-${i}` }, zeros));
  return rawLayer(Buffer.concat([...parts, END_BLOCKS]));
}
