// The one streaming pass over an image archive. Which members matter is known only from
// index.json or manifest.json, and tools write those last as often as first, so every member that
// may be a blob goes into the content store as it streams by (hashed on the way, never held in
// memory), the small JSON files are kept in memory, and links are remembered. The format readers
// then work from what this pass collected.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { feedTar } from '../tar-feed.js';
import { abortError, type OpContext } from '../../core/context.js';
import { hasErrno, invalidArgument, isSkiffError, SkiffError, toSkiffError } from '../../core/errors.js';
import type { Digest } from '../../core/ids.js';
import { parseReference } from '../../util/image-reference.js';
import type { ContentStore } from '../content/store.js';
import { decompressor, type Compression } from '../layers/decompress.js';
import { isSize } from '../layers/tar-apply.js';
import type { ArchiveImage } from './archive.js';
import { parseImageConfig } from './image-config.js';

/** A member now in the content store. */
export interface StoredMember {
  readonly digest: Digest;
  readonly size: number;
  /** From the member's first bytes: what a layer is when no manifest says. */
  readonly compression: Compression;
}

export interface ScannedArchive {
  /** The archive's path, for messages. */
  readonly file: string;
  /** Members stored in the content store, by normalised path. */
  readonly stored: Map<string, StoredMember>;
  /** JSON members and oci-layout, by normalised path. */
  readonly small: Map<string, Buffer>;
  /** Symbolic and hard links: path → target path, or null when the target is outside the archive. */
  readonly links: Map<string, string | null>;
}

export type Found = { readonly stored: StoredMember } | { readonly bytes: Buffer };

/** One JSON file of an archive; a manifest.json for thousands of images stays far below it. */
const MAX_SMALL_MEMBER = 16 * 1024 * 1024;
const MAX_SMALL_TOTAL = 64 * 1024 * 1024;
const MAX_LINK_HOPS = 16;
const READ_CHUNK = 1024 * 1024;
/** Enough for the file stream to gather many tar blocks into one writev. */
const WRITE_BUFFER = 1024 * 1024;

/** One archive member as tar-stream hands it out: a header and a body to read to its end. */
type Entry = tar.Extract extends AsyncIterable<infer S> ? S : never;

const BLOB_PATH = /^blobs\/sha256\/([0-9a-f]{64})$/;
/** Layers of docker-save (`<hex>/layer.tar`) and of podman/skopeo docker archives (`<hex>.tar`). */
const LAYER_FILE = /\.tar(?:\.gz|\.zst)?$/;

export function archiveError(file: string, problem: string, cause?: unknown): SkiffError {
  return invalidArgument(`image archive ${file}: ${problem}`, cause);
}

export function blobPath(digest: Digest): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

/** The member at `path`, following links; undefined when the archive has none. */
export function lookup(scan: ScannedArchive, path: string): Found | undefined {
  let p = path;
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    const stored = scan.stored.get(p);
    if (stored) return { stored };
    const bytes = scan.small.get(p);
    if (bytes) return { bytes };
    const next = scan.links.get(p);
    if (next === undefined || next === null) return undefined;
    p = next;
  }
  return undefined;
}

/**
 * A member path as written in the archive or in one of its manifests, normalised ("./a//b/" →
 * "a/b"). Absolute paths and ".." components are refused: nothing in an archive may name a file
 * outside it.
 */
export function memberPath(file: string, raw: string, where: string): string {
  if (raw.startsWith('/')) throw archiveError(file, `${where}: absolute path ${JSON.stringify(raw)} refused`);
  const parts = raw.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw archiveError(file, `${where}: path ${JSON.stringify(raw)} with ".." refused`);
  return parts.join('/');
}

export function magicCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd) return 'zstd';
  return 'none';
}

/** Reads the whole archive once; on failure no temp file is left in the ingest area. */
export async function scanArchive(ctx: OpContext, file: string, content: ContentStore): Promise<ScannedArchive> {
  const scan: ScannedArchive = { file, stored: new Map(), small: new Map(), links: new Map() };
  const source = await openArchive(file);
  const extract = tar.extract();
  const feedState: { error?: unknown } = {};
  const feeding = feedTar(ctx.signal, source, extract, feedState, (signal) => abortError(signal, `reading image archive ${file}`));
  feeding.catch(() => undefined); // awaited below
  const budget = { small: 0 };
  try {
    for await (const entry of extract) await takeMember(ctx, scan, content, entry, budget);
    await feeding;
    return scan;
  } catch (e) {
    // Taken before source.destroy(), whose own premature-close error is no cause.
    const sourceError = feedState.error;
    extract.destroy();
    source.destroy();
    await feeding.catch(() => undefined);
    throw classify(file, e, sourceError);
  }
}

/** The archive as a tar stream: gzip and zstd are recognised by their magic bytes. */
async function openArchive(file: string): Promise<Readable> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw toSkiffError(e, `opening image archive ${file}`);
  }
  let head: Buffer;
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    head = buffer.subarray(0, bytesRead);
  } catch (e) {
    await fh.close();
    if (hasErrno(e, 'EISDIR')) throw invalidArgument(`image archive ${file} is a directory, not a tar file`);
    throw toSkiffError(e, `reading image archive ${file}`);
  }
  const compression = magicCompression(head);
  let stage: Transform | undefined;
  if (compression !== 'none') {
    try {
      stage = decompressor(compression);
    } catch (e) {
      await fh.close();
      throw toSkiffError(e, `image archive ${file} is ${compression}-compressed`);
    }
  }
  const raw = fh.createReadStream({ start: 0, highWaterMark: READ_CHUNK });
  // pipeline() hands a failure of the file onto the stage, where the parser's feed sees it.
  return stage === undefined ? raw : pipeline(raw, stage, () => undefined);
}

async function takeMember(
  ctx: OpContext,
  scan: ScannedArchive,
  content: ContentStore,
  entry: Entry,
  budget: { small: number },
): Promise<void> {
  const h = entry.header;
  const name = memberPath(scan.file, h.name, `member ${JSON.stringify(h.name)}`);
  // An unreadable size field comes as null, and tar-stream would wait for that body forever.
  if (!isSize(h.size)) throw archiveError(scan.file, `${name}: size ${h.size} is not a valid size`);
  if (h.type === 'symlink' || h.type === 'link') {
    scan.links.set(name, linkTarget(name, h));
    return drain(entry);
  }
  if ((h.type !== 'file' && h.type !== 'contiguous-file') || name === '') return drain(entry);

  const blob = BLOB_PATH.exec(name);
  if (blob) {
    scan.stored.set(name, await storeMember(ctx, scan.file, content, entry, name, `sha256:${blob[1]}` as Digest));
  } else if (name.endsWith('.json') || name === 'oci-layout') {
    if (h.size > MAX_SMALL_MEMBER) throw archiveError(scan.file, `${name} is ${h.size} bytes, too big for an archive's JSON file`);
    budget.small += h.size;
    if (budget.small > MAX_SMALL_TOTAL) throw archiveError(scan.file, `its JSON files add up to more than ${MAX_SMALL_TOTAL} bytes`);
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    scan.small.set(name, Buffer.concat(chunks));
  } else if (LAYER_FILE.test(name)) {
    scan.stored.set(name, await storeMember(ctx, scan.file, content, entry, name, undefined));
  } else {
    await drain(entry); // VERSION, v1 json, repositories: nothing an image needs
  }
}

/** Where a link leads inside the archive; null when it leads out of it (then it resolves to nothing). */
function linkTarget(name: string, h: tar.Header): string | null {
  const target = h.linkname ?? '';
  // A symlink is relative to its own directory, a hard link's target is an archive path.
  const joined = h.type === 'symlink' ? posix.join(posix.dirname(name), target) : target;
  if (target === '' || target.startsWith('/')) return null;
  const normal = posix.normalize(joined).replace(/^\.\/+/, '').replace(/\/+$/, '');
  return normal === '..' || normal.startsWith('../') ? null : normal;
}

/**
 * Streams one member into the content store, hashing it on the way: into a temp file of the
 * ingest area that is published under the digest computed, or only hashed when `expected` is
 * already stored. A member named by its digest must hash to it.
 */
async function storeMember(
  ctx: OpContext,
  file: string,
  content: ContentStore,
  entry: Entry,
  name: string,
  expected: Digest | undefined,
): Promise<StoredMember> {
  const tap = new HashTap();
  const body = tapped(ctx.signal, entry, tap);
  if (expected !== undefined && (await content.has(expected))) {
    await drain(body);
    checkExpected(file, name, tap, expected);
    return tap.member();
  }
  const tmp = join(content.dir, 'ingest', `archive-${randomBytes(8).toString('hex')}`);
  try {
    // The store's rename publishes the file, after it has fsynced it.
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600, highWaterMark: WRITE_BUFFER });
    await pipelineAsync(body, out);
    checkExpected(file, name, tap, expected);
    await content.publishFile(tmp, tap.digest(), tap.size);
  } catch (e) {
    await rm(tmp, { force: true });
    // A parser or gunzip failure surfaces here too: left raw, scanArchive tells it from disk trouble.
    if (e instanceof Error && /^E[A-Z0-9]+$/.test(String((e as NodeJS.ErrnoException).code))) {
      throw toSkiffError(e, `image archive ${file}: storing ${name}`);
    }
    throw e;
  }
  return tap.member();
}

function checkExpected(file: string, name: string, tap: HashTap, expected: Digest | undefined): void {
  const actual = tap.digest();
  if (expected !== undefined && actual !== expected) {
    throw archiveError(file, `${name} is corrupt: its content hashes to ${actual}`);
  }
}

class HashTap {
  private readonly hash = createHash('sha256');
  private head = Buffer.alloc(0);
  size = 0;

  add(chunk: Buffer): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.head.length < 4) this.head = Buffer.concat([this.head, chunk.subarray(0, 4 - this.head.length)]);
  }

  digest(): Digest {
    return `sha256:${this.hash.copy().digest('hex')}` as Digest;
  }

  member(): StoredMember {
    return { digest: this.digest(), size: this.size, compression: magicCompression(this.head) };
  }
}

async function drain(body: AsyncIterable<unknown>): Promise<void> {
  for await (const chunk of body) void chunk;
}

async function* tapped(signal: AbortSignal, entry: Entry, tap: HashTap): AsyncGenerator<Buffer> {
  for await (const item of entry) {
    if (signal.aborted) throw abortError(signal, 'reading image archive');
    const chunk = item as Buffer;
    tap.add(chunk);
    yield chunk;
  }
}

/** Errors of the source come first; gzip's and the tar parser's mean a damaged archive. */
function classify(file: string, e: unknown, sourceError: unknown): SkiffError {
  const err = sourceError ?? e;
  if (isSkiffError(err)) return err;
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  if (typeof code === 'string' && code.startsWith('Z_')) return archiveError(file, `damaged compressed data: ${errText(err)}`, err);
  // Errno codes are the system's; streamx's codes (STREAM_DESTROYED…) mean the parser gave up.
  if (err instanceof Error && (err.name === 'AbortError' || /^E[A-Z0-9]+$/.test(String(code)))) return toSkiffError(err, `reading image archive ${file}`);
  if (err instanceof TypeError || err instanceof RangeError) return toSkiffError(err, `reading image archive ${file}`);
  return archiveError(file, `not a valid tar archive: ${errText(err)}`, err);
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));


// Checks both format readers share.

/** The image config's layer diff ids, after checking that the manifest has as many layers. */
export function checkImageConfig(file: string, what: string, bytes: Buffer, layerCount: number): readonly Digest[] {
  let diffIds: readonly Digest[];
  try {
    diffIds = parseImageConfig(bytes).diffIds;
  } catch (e) {
    throw archiveError(file, `${what}: ${errText(e)}`, e);
  }
  if (diffIds.length !== layerCount) {
    throw archiveError(file, `${what} lists ${diffIds.length} layers in rootfs.diff_ids, its manifest ${layerCount}`);
  }
  return diffIds;
}

/** "busybox:1.0" → "docker.io/library/busybox:1.0"; undefined (and a warning) for what names no tag. */
export function normaliseTag(ctx: OpContext, file: string, text: string, defaultRegistry: string): string | undefined {
  try {
    const ref = parseReference(text, { defaultRegistry });
    if (ref.tag !== undefined) return `${ref.name}:${ref.tag}`;
    ctx.log.warn(`image archive ${file}: ${JSON.stringify(text)} names a digest, not a tag; not tagging the image with it`);
  } catch (e) {
    ctx.log.warn(`image archive ${file}: ignoring the image name ${JSON.stringify(text)}: ${errText(e)}`);
  }
  return undefined;
}

/** Adds an image, or only its tags when the same manifest came up before (one image, several names). */
export function addImage(images: Map<Digest, ArchiveImage>, image: ArchiveImage, tags: readonly string[]): void {
  const known = images.get(image.manifestDigest) ?? image;
  images.set(image.manifestDigest, known);
  for (const t of tags) if (!known.tags.includes(t)) known.tags.push(t);
}
