// Images whose /etc/passwd (and /etc/group) are hostile to whoever reads them on the host: a
// FIFO, a /dev/zero-like device, a symlink aimed at a host file, a 300 MiB file. Each image is
// the busybox base plus one layer on top. The daemon must treat these files as data: never block
// on them, never grow with them, never read a host file through them.
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import tar from 'tar-stream';
import { buildImage } from './oci-image.js';
import { pushImage, type PushedImage } from './registry-push.js';
import { busyboxLayer, FIXED_TIME, OCI_LAYER_GZIP, sha256, type TarLayer } from './tar-layer.js';

const gzipAsync = promisify(gzip);

type Header = Parameters<tar.Pack['entry']>[0];
type Member = { header: Header; content?: Buffer };

export type HostileUserFileKind = 'fifo' | 'device' | 'symlink' | 'huge';

export interface HostileUserFiles {
  /** "<host>/skiff-test/userfile-<kind>:1.0". */
  refs: Record<HostileUserFileKind, string>;
  /** The host file the symlink image's /etc/passwd points at (same path inside the image). */
  hostPasswd: string;
  /** A user only the host file names. */
  hostOnlyUser: string;
  /** A user the image's own copy at that path names, with uid = gid = 777. */
  imageUser: string;
  /** Bytes of the huge image's /etc/passwd. */
  hugeBytes: number;
}

const MiB = 1024 * 1024;

async function layerOf(members: Member[]): Promise<TarLayer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const m of members) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      const header = { uid: 0, gid: 0, mtime: FIXED_TIME, ...m.header };
      if (m.content) pack.entry({ ...header, size: m.content.length }, m.content, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  const tarBuf = Buffer.concat(chunks);
  const blob = await gzipAsync(tarBuf, { level: 1 });
  return { blob, tar: tarBuf, digest: sha256(blob), diffId: sha256(tarBuf), size: blob.length, mediaType: OCI_LAYER_GZIP, gzip: true };
}

const etc: Member = { header: { name: 'etc/', type: 'directory', mode: 0o755 } };

/** Builds and pushes the four images; `hostPasswd` must be created on the host by the caller. */
export async function pushHostileUserFileImages(registryUrl: string, hugeBytes = 300 * MiB): Promise<HostileUserFiles> {
  const token = randomBytes(6).toString('hex');
  const hostPasswd = `/tmp/skiff-hostpasswd-${token}`;
  const line = 'filler:x:5000:5000:filler:/:/bin/false\n';
  const huge = Buffer.alloc(hugeBytes, line);
  const layers: Record<HostileUserFileKind, Member[]> = {
    fifo: [etc, { header: { name: 'etc/passwd', type: 'fifo', mode: 0o644 } }],
    // 1:5 is /dev/zero: endless bytes to a reader that does not check what it opened.
    device: [
      etc,
      { header: { name: 'etc/passwd', type: 'character-device', mode: 0o644, devmajor: 1, devminor: 5 } },
      { header: { name: 'etc/group', type: 'character-device', mode: 0o644, devmajor: 1, devminor: 5 } },
    ],
    // The same absolute path exists in the image, with other content: inside the rootfs it wins.
    symlink: [
      etc,
      { header: { name: 'etc/passwd', type: 'symlink', linkname: hostPasswd, mode: 0o777 } },
      { header: { name: 'tmp/', type: 'directory', mode: 0o1777 } },
      { header: { name: hostPasswd.slice(1), type: 'file', mode: 0o644 }, content: Buffer.from('root:x:0:0::/root:/bin/sh\nimageuser:x:777:777::/:/bin/sh\n') },
    ],
    huge: [etc, { header: { name: 'etc/passwd', type: 'file', mode: 0o644 }, content: huge }],
  };
  const base = await busyboxLayer({ gzip: true });
  const refs = {} as Record<HostileUserFileKind, string>;
  for (const kind of Object.keys(layers) as HostileUserFileKind[]) {
    const top = await layerOf(layers[kind]);
    const pushed: PushedImage = await pushImage(
      registryUrl,
      `skiff-test/userfile-${kind}`,
      '1.0',
      buildImage({ layers: [base, top], config: { Cmd: ['/bin/true'] }, createdBy: ['busybox', `hostile /etc/passwd: ${kind}`] }),
    );
    refs[kind] = pushed.refs[0] as string;
  }
  return { refs, hostPasswd, hostOnlyUser: 'hostuser', imageUser: 'imageuser', hugeBytes };
}
