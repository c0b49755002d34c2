// The decompression stage of a layer pull. Node's gunzip runs on the libuv thread pool, so it
// overlaps with hashing and writing on the main thread.
import { PassThrough, type Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { failedPrecondition, invalidArgument } from '../../core/errors.js';

export type Compression = 'gzip' | 'none' | 'zstd';

/** Large output chunks: every chunk costs a trip through the hash and the tar parser. */
const CHUNK = 128 * 1024;

export function decompressor(compression: Compression): Transform {
  switch (compression) {
    case 'gzip':
      return zlib.createGunzip({ chunkSize: CHUNK });
    case 'none':
      return new PassThrough({ highWaterMark: CHUNK });
    case 'zstd': {
      // Node 22.15 added zstd to zlib; the types of Node 20 do not know it.
      const create = (zlib as unknown as { createZstdDecompress?: (o?: object) => Transform }).createZstdDecompress;
      if (typeof create !== 'function') {
        throw failedPrecondition('zstd layers are not supported on this Node version');
      }
      return create({ chunkSize: CHUNK });
    }
  }
}

/** The compression an OCI or Docker layer media type declares ("…tar+gzip", "…tar.gzip", "…tar"). */
export function compressionOf(mediaType: string): Compression {
  if (/\.tar[+.]gzip$/.test(mediaType)) return 'gzip';
  if (/\.tar[+.]zstd$/.test(mediaType)) return 'zstd';
  if (mediaType.endsWith('.tar')) return 'none';
  throw invalidArgument(`unsupported layer media type ${JSON.stringify(mediaType)}`);
}
