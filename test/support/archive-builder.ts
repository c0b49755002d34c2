// Archives as `ctr export` / `docker save` write them, built in memory for tests.
import tar from 'tar-stream';
import { MEDIA_TYPES } from '../../src/storage/registry/manifest.js';
import type { BuiltImage } from './oci-image.js';
import type { TarLayer } from './tar-layer.js';

export interface Member {
  name: string;
  body?: Buffer | string;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

export async function packArchive(members: Member[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const m of members) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      const header = { name: m.name, type: m.type ?? 'file', mode: m.type === 'directory' ? 0o755 : 0o644, mtime: new Date(0) };
      if (m.type === 'symlink') pack.entry({ ...header, linkname: m.linkname ?? '' }, cb);
      else if (m.type === 'directory') pack.entry(header, cb);
      else pack.entry(header, Buffer.from(m.body ?? ''), cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const hexOf = (digest: string) => digest.slice('sha256:'.length);
export const blob = (digest: string, body: Buffer): Member => ({ name: `blobs/sha256/${hexOf(digest)}`, body });
export const OCI_LAYOUT: Member = { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' };

export function imageBlobs(img: BuiltImage): Member[] {
  return [
    ...img.layers.map((l) => blob(l.digest, (l as TarLayer).blob)),
    blob(img.configDigest, img.config),
    blob(img.manifestDigest, img.manifest),
  ];
}

export function indexJson(manifests: object[]): Member {
  return { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }) };
}

export function entryFor(img: BuiltImage, annotations: Record<string, string>): object {
  return { mediaType: img.manifestMediaType, digest: img.manifestDigest, size: img.manifest.length, annotations };
}

