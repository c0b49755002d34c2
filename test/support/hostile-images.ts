// Layers that try to write outside the directory they are unpacked into. An unpacker passes if
// it rejects the layer or keeps every write inside its root; either way the host checks below
// must come back empty. How to use:
//   const set = await hostileLayers(); await prepareHostSentinel(set);
//   ...pull/unpack each image (or set.layers[i].layer.blob) into some dir D...
//   expect(await hostViolations(set, D)).to.deep.equal([]); await removeHostSentinel(set);
// prepareHostSentinel matters: it creates the directories and files a naive unpacker would
// follow symlinks into, so a bug there writes somewhere visible instead of failing with ENOENT.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildImage } from './oci-image.js';
import { pushImage, type PushedImage, type RegistryCredentials } from './registry-push.js';
import { tarLayer, type LayerEntry, type TarLayer } from './tar-layer.js';

export type HostileKind = 'traversal' | 'absolute' | 'symlink' | 'symlink-up' | 'hardlink' | 'whiteout';

/** Enough ".." to reach "/" from any unpack dir a test would use. */
const TO_ROOT = Array(16).fill('..').join('/');

export interface HostileLayer {
  kind: HostileKind;
  /** skiff-test/hostile-<kind>, pushed with tag 1.0. */
  repo: string;
  layer: TarLayer;
  /** What the layer attempts, for test names and failure messages. */
  attack: string;
  /** Host paths that must not exist after unpacking into `unpackDir`, rejected or not. */
  mustNotExist(unpackDir: string): string[];
}

export interface HostileSet {
  /** Random per set: "skiff-sentinel-<hex>". */
  token: string;
  /** /tmp/<token>: the host directory the layers aim at. */
  sentinelDir: string;
  /** Host files prepareHostSentinel creates and that must keep their content. */
  hostFiles: Record<string, string>;
  layers: HostileLayer[];
}

export async function hostileLayers(): Promise<HostileSet> {
  const token = `skiff-sentinel-${randomBytes(6).toString('hex')}`;
  const escape = `escape-${token}`;
  const sentinelDir = `/tmp/${token}`;
  const target = `${sentinelDir}/target`;
  const victim = `${sentinelDir}/victim`;
  const hostFiles = { [target]: 'target: must stay unchanged\n', [victim]: 'victim: must not be deleted\n' };

  const specs: Array<Omit<HostileLayer, 'layer' | 'repo'> & { entries: LayerEntry[] }> = [
    {
      kind: 'traversal',
      attack: '".." member names climbing out of the unpack dir',
      entries: [
        { path: `../../${escape}`, type: 'file', content: 'pwned\n', raw: true },
        { path: `./../${escape}-dot`, type: 'file', content: 'pwned\n', raw: true },
        { path: `data/../../${escape}-mid`, type: 'file', content: 'pwned\n', raw: true },
        { path: `${TO_ROOT}/tmp/${token}/traversal-pwned`, type: 'file', content: 'pwned\n', raw: true },
      ],
      mustNotExist: (d) => [
        path.resolve(d, `../../${escape}`),
        path.resolve(d, `../${escape}-dot`),
        path.resolve(d, `../${escape}-mid`),
        `${sentinelDir}/traversal-pwned`,
      ],
    },
    {
      // A normaliser may strip the leading "/" and write <D>/tmp/<token>/abs-pwned: that is fine.
      kind: 'absolute',
      attack: 'an absolute member name /tmp/<token>/abs-pwned',
      entries: [{ path: `${sentinelDir}/abs-pwned`, type: 'file', content: 'pwned\n', raw: true }],
      mustNotExist: () => [`${sentinelDir}/abs-pwned`],
    },
    {
      kind: 'symlink',
      attack: 'symlink evil -> /tmp/<token>, then a file evil/pwned through it',
      entries: [
        { path: 'evil', type: 'symlink', linkname: sentinelDir },
        { path: 'evil/pwned', type: 'file', content: 'pwned\n' },
      ],
      mustNotExist: () => [`${sentinelDir}/pwned`],
    },
    {
      kind: 'symlink-up',
      attack: 'symlink up -> ../../.. (16 levels), then up/tmp/<token>/pwned-up through it',
      entries: [
        { path: 'up', type: 'symlink', linkname: TO_ROOT },
        { path: `up/tmp/${token}/pwned-up`, type: 'file', content: 'pwned\n' },
      ],
      mustNotExist: () => [`${sentinelDir}/pwned-up`],
    },
    {
      // Linking to a host file and then writing the same name would overwrite the host file
      // through the shared inode if the unpacker opens without unlinking first.
      kind: 'hardlink',
      attack: 'hard links to ../../../etc/hostname, /etc/hostname and a host file, then a write to one',
      entries: [
        { path: 'hl', type: 'hardlink', linkname: '../../../etc/hostname' },
        { path: 'hl-abs', type: 'hardlink', linkname: '/etc/hostname' },
        { path: 'hl-target', type: 'hardlink', linkname: `${TO_ROOT}${target}` },
        { path: 'hl-target', type: 'file', content: 'pwned\n' },
      ],
      mustNotExist: () => [],
    },
    {
      kind: 'whiteout',
      attack: 'a whiteout whose path climbs to /tmp/<token>/victim',
      entries: [{ path: `${TO_ROOT}/tmp/${token}/.wh.victim`, type: 'file', content: '', raw: true }],
      mustNotExist: () => [`${sentinelDir}/.wh.victim`],
    },
  ];

  const layers = await Promise.all(
    specs.map(async ({ entries, ...spec }) => ({
      ...spec,
      repo: `skiff-test/hostile-${spec.kind}`,
      layer: await tarLayer(entries, { gzip: true }),
    })),
  );
  return { token, sentinelDir, hostFiles, layers };
}

/** Creates the sentinel dir and files on the host; call before unpacking. */
export async function prepareHostSentinel(set: HostileSet): Promise<void> {
  await mkdir(set.sentinelDir, { recursive: true });
  for (const [file, content] of Object.entries(set.hostFiles)) await writeFile(file, content);
}

export async function removeHostSentinel(set: HostileSet): Promise<void> {
  await rm(set.sentinelDir, { recursive: true, force: true });
}

/**
 * Everything that went wrong on the host after unpacking the hostile layers into `unpackDirs`
 * (one dir, or one per kind): files that must not exist, host files changed or deleted, and
 * anything in the sentinel dir beyond what prepareHostSentinel put there. Empty means safe.
 */
export async function hostViolations(
  set: HostileSet,
  unpackDirs: string | Partial<Record<HostileKind, string>>,
): Promise<string[]> {
  const out: string[] = [];
  for (const l of set.layers) {
    const dir = typeof unpackDirs === 'string' ? unpackDirs : unpackDirs[l.kind];
    if (dir === undefined) continue;
    for (const p of l.mustNotExist(dir)) {
      if (await exists(p)) out.push(`${l.kind}: ${p} exists`);
    }
  }
  for (const [file, content] of Object.entries(set.hostFiles)) {
    const now = await readFile(file, 'utf8').catch(() => undefined);
    if (now !== content) out.push(`${file} ${now === undefined ? 'was removed' : 'was modified'}`);
  }
  const expected = new Set(Object.keys(set.hostFiles).map((f) => path.basename(f)));
  for (const name of await readdir(set.sentinelDir).catch(() => [] as string[])) {
    if (!expected.has(name)) out.push(`${set.sentinelDir}/${name} appeared`);
  }
  return [...new Set(out)];
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

/** Each hostile layer as its own single-layer image, skiff-test/hostile-<kind>:1.0. */
export async function pushHostileImages(
  registryUrl: string,
  set: HostileSet,
  auth?: RegistryCredentials,
): Promise<Record<HostileKind, PushedImage>> {
  const pushed = await Promise.all(
    set.layers.map((l) =>
      pushImage(
        registryUrl,
        l.repo,
        '1.0',
        buildImage({ layers: [l.layer], config: { Cmd: ['/bin/true'] }, createdBy: [l.attack] }),
        auth,
      ),
    ),
  );
  return Object.fromEntries(set.layers.map((l, i) => [l.kind, pushed[i]!])) as Record<HostileKind, PushedImage>;
}
