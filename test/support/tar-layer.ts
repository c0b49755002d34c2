// Layer tarballs built in memory with tar-stream, and the busybox base layer every test image
// starts from. Timestamps are fixed so the same inputs always give the same digests.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import tar from 'tar-stream';

export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';

/** 2024-01-01T00:00:00Z: every entry and config gets it unless told otherwise. */
export const FIXED_TIME = new Date(Date.UTC(2024, 0, 1));

export const BUSYBOX_PATH = '/bin/busybox';

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'whiteout' | 'opaque';

export interface LayerEntry {
  /** Leading "/" is stripped (tar members are relative) unless `raw` is set. */
  path: string;
  type: EntryType;
  content?: Buffer | string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Symlink target, or the member a hard link points at. Kept verbatim. */
  linkname?: string;
  mtime?: Date;
  /** Write `path` exactly as given: for hostile layers with absolute or ".." member names. */
  raw?: boolean;
}

/** A layer blob: in memory (tarLayer) or in a file (big benchmark layers). */
export interface LayerBlob {
  digest: string;
  diffId: string;
  size: number;
  /** OCI media type; buildImage maps it to the Docker one when asked. */
  mediaType: string;
  gzip: boolean;
  blob?: Buffer;
  file?: string;
}

export interface TarLayer extends LayerBlob {
  blob: Buffer;
  /** The uncompressed tar, for tests that unpack directly. */
  tar: Buffer;
}

const gzipAsync = promisify(gzip);

type TarHeader = Parameters<tar.Pack['entry']>[0];

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export async function tarLayer(entries: LayerEntry[], opts: { gzip: boolean }): Promise<TarLayer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const e of entries) await addEntry(pack, e);
  pack.finalize();
  await done;
  const tarBuf = Buffer.concat(chunks);
  // Level 6 with a fixed mtime of 0 in the gzip header: reproducible like the tar itself.
  const blob = opts.gzip ? await gzipAsync(tarBuf, { level: 6 }) : tarBuf;
  return {
    blob,
    tar: tarBuf,
    digest: sha256(blob),
    diffId: sha256(tarBuf),
    size: blob.length,
    mediaType: opts.gzip ? OCI_LAYER_GZIP : OCI_LAYER_TAR,
    gzip: opts.gzip,
  };
}

function memberName(e: LayerEntry): string {
  if (e.raw) return e.path;
  const p = e.path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '') throw new Error(`empty layer path ${JSON.stringify(e.path)}`);
  return p;
}

function addEntry(pack: tar.Pack, e: LayerEntry): Promise<void> {
  const name = memberName(e);
  const base = {
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    mtime: e.mtime ?? FIXED_TIME,
  };
  let header: TarHeader;
  let content: Buffer | undefined;
  switch (e.type) {
    case 'file':
      content = Buffer.from(e.content ?? '');
      header = { ...base, name, type: 'file', mode: e.mode ?? 0o644, size: content.length };
      break;
    case 'dir':
      header = { ...base, name: e.raw ? name : name + '/', type: 'directory', mode: e.mode ?? 0o755 };
      break;
    case 'symlink':
    case 'hardlink':
      if (e.linkname === undefined) throw new Error(`${e.type} ${name} needs a linkname`);
      header = {
        ...base,
        name,
        type: e.type === 'symlink' ? 'symlink' : 'link',
        linkname: e.linkname,
        mode: e.mode ?? (e.type === 'symlink' ? 0o777 : 0o644),
      };
      break;
    case 'whiteout': {
      const slash = name.lastIndexOf('/');
      const wh = name.slice(0, slash + 1) + '.wh.' + name.slice(slash + 1);
      header = { ...base, name: wh, type: 'file', mode: e.mode ?? 0o644, size: 0 };
      content = Buffer.alloc(0);
      break;
    }
    case 'opaque':
      header = { ...base, name: name + '/.wh..wh..opq', type: 'file', mode: e.mode ?? 0o644, size: 0 };
      content = Buffer.alloc(0);
      break;
  }
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (content) pack.entry(header, content, cb);
    else pack.entry(header, cb);
  });
}

/** Busybox applets linked into /bin; the image's shell tools. */
export const BUSYBOX_APPLETS = [
  'sh', 'ash', 'ls', 'cat', 'echo', 'sleep', 'true', 'false', 'id', 'env', 'hostname', 'ps', 'mount',
  'umount', 'top', 'wget', 'nc', 'ip', 'ifconfig', 'route', 'netstat', 'ping', 'nslookup', 'mkdir',
  'rmdir', 'rm', 'cp', 'mv', 'ln', 'touch', 'chmod', 'chown', 'grep', 'sed', 'awk', 'head', 'tail',
  'wc', 'sort', 'uniq', 'tr', 'cut', 'date', 'df', 'du', 'find', 'kill', 'pwd', 'readlink', 'stat',
  'test', '[', 'uname', 'whoami', 'groups', 'which', 'xargs', 'yes', 'dd', 'sync', 'tee', 'printf',
  'seq', 'md5sum', 'sha256sum', 'pidof', 'nproc', 'timeout', 'hexdump', 'mkfifo', 'basename',
  'dirname', 'expr', 'setsid', 'nsenter', 'unshare', 'usleep', 'vi', 'tar', 'gzip', 'gunzip',
  'httpd', 'free', 'uptime', 'dmesg', 'mknod', 'realpath', 'base64', 'sha1sum', 'more', 'less',
];

export const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'skiffuser:x:1000:1000:skiffuser:/home/skiffuser:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
  '',
].join('\n');

export const GROUP = [
  'root:x:0:',
  'skiffgroup:x:1000:',
  'extra:x:2000:skiffuser',
  'nogroup:x:65534:',
  '',
].join('\n');

let busyboxEntryCache: LayerEntry[] | undefined;

/** The base filesystem: busybox-static, applet links, users and groups, the usual dirs. */
export function busyboxEntries(): LayerEntry[] {
  if (!busyboxEntryCache) {
    let binary: Buffer;
    try {
      binary = readFileSync(BUSYBOX_PATH);
    } catch (err) {
      throw new Error(`${BUSYBOX_PATH} unreadable (apt-get install -y busybox-static): ${String(err)}`);
    }
    busyboxEntryCache = [
      { path: 'bin', type: 'dir' },
      { path: 'bin/busybox', type: 'file', content: binary, mode: 0o755 },
      ...BUSYBOX_APPLETS.map((a): LayerEntry => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
      { path: 'dev', type: 'dir' },
      { path: 'etc', type: 'dir' },
      { path: 'etc/passwd', type: 'file', content: PASSWD },
      { path: 'etc/group', type: 'file', content: GROUP },
      { path: 'home', type: 'dir' },
      { path: 'home/skiffuser', type: 'dir', uid: 1000, gid: 1000 },
      { path: 'proc', type: 'dir' },
      { path: 'root', type: 'dir', mode: 0o700 },
      { path: 'sys', type: 'dir' },
      { path: 'tmp', type: 'dir', mode: 0o1777 },
      { path: 'usr', type: 'dir' },
      { path: 'usr/bin', type: 'dir' },
      { path: 'var', type: 'dir' },
    ];
  }
  return busyboxEntryCache;
}

const busyboxCache = new Map<boolean, Promise<TarLayer>>();

/** Memoised: the fixture set uses it many times and gzipping 2 MB is the slow part. */
export function busyboxLayer(opts: { gzip: boolean } = { gzip: true }): Promise<TarLayer> {
  let p = busyboxCache.get(opts.gzip);
  if (!p) {
    p = tarLayer(busyboxEntries(), opts);
    busyboxCache.set(opts.gzip, p);
  }
  return p;
}
