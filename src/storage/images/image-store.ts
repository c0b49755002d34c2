// Image records: one per image id (the config digest), with the tags and digests that name it.
// Memory is the index every List/Status call reads; disk (one record per image) is the truth
// that survives a restart, written before memory changes.
import type { Digest } from '../../core/ids.js';
import type { ImageRuntimeConfig } from './image-config.js';
import { RecordStore } from '../../state/record-store.js';

export interface LayerRecord {
  readonly digest: Digest;
  readonly size: number;
  readonly mediaType: string;
  readonly diffId: Digest;
  readonly chainId: Digest;
}

export interface ImageRecord {
  /** The config digest: what ImageStatus, ListImages and containers report as the image id. */
  readonly id: Digest;
  /** Normalised "registry/repo:tag". */
  readonly repoTags: readonly string[];
  /** Normalised "registry/repo@sha256:…" of the manifest (or index) each pull resolved. */
  readonly repoDigests: readonly string[];
  readonly manifestDigest: Digest;
  /** Compressed layers + config + manifest: what `crictl images` shows. */
  readonly size: number;
  readonly layers: readonly LayerRecord[];
  /** What containers inherit from the image (kept in memory: CreateContainer reads no disk). */
  readonly config: ImageRuntimeConfig;
  readonly architecture: string;
  readonly os: string;
  readonly pulledAt: string;
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

function isLayerRecord(x: unknown): x is LayerRecord {
  const l = x as Record<string, unknown>;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof l.digest === 'string' &&
    typeof l.size === 'number' &&
    typeof l.mediaType === 'string' &&
    typeof l.diffId === 'string' &&
    typeof l.chainId === 'string'
  );
}

export function isImageRecord(x: unknown): x is ImageRecord {
  const r = x as Record<string, unknown>;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof r.id === 'string' &&
    isStringArray(r.repoTags) &&
    isStringArray(r.repoDigests) &&
    typeof r.manifestDigest === 'string' &&
    typeof r.size === 'number' &&
    Array.isArray(r.layers) &&
    r.layers.every(isLayerRecord) &&
    typeof r.config === 'object' &&
    r.config !== null &&
    typeof (r.config as ImageRuntimeConfig).user === 'string' &&
    typeof r.architecture === 'string' &&
    typeof r.os === 'string' &&
    typeof r.pulledAt === 'string'
  );
}

const hexOf = (id: Digest) => id.slice('sha256:'.length);

export class ImageStore {
  private readonly byId = new Map<Digest, ImageRecord>();
  /** Tag or digest reference → image id. */
  private readonly byRef = new Map<string, Digest>();
  private readonly records: RecordStore<ImageRecord>;

  constructor(dir: string) {
    this.records = new RecordStore(dir, 'image', 1, isImageRecord);
  }

  /** Loads every record; returns the files that could not be read, for the caller to log. */
  async load(): Promise<{ file: string; reason: string }[]> {
    await this.records.init();
    const { records, invalid } = await this.records.loadAll();
    for (const r of records.values()) this.index(r);
    return invalid;
  }

  all(): ImageRecord[] {
    return [...this.byId.values()];
  }

  get(id: Digest): ImageRecord | undefined {
    return this.byId.get(id);
  }

  /** By normalised tag or digest reference. */
  byReference(ref: string): ImageRecord | undefined {
    const id = this.byRef.get(ref);
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** By id with or without "sha256:", or by a unique id prefix of at least 3 hex digits. */
  byIdOrPrefix(text: string): ImageRecord | undefined {
    const hex = text.startsWith('sha256:') ? text.slice(7) : text;
    if (!/^[0-9a-f]{3,64}$/.test(hex)) return undefined;
    const exact = this.byId.get(`sha256:${hex}` as Digest);
    if (exact) return exact;
    const matches = this.all().filter((r) => hexOf(r.id).startsWith(hex));
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** Writes the record, then points its tags and digests at it, taking them from other images. */
  async put(record: ImageRecord): Promise<void> {
    const losers = new Map<Digest, ImageRecord>();
    for (const ref of [...record.repoTags, ...record.repoDigests]) {
      const owner = this.byRef.get(ref);
      if (owner !== undefined && owner !== record.id) {
        const prev = losers.get(owner) ?? this.byId.get(owner);
        if (prev) {
          losers.set(owner, {
            ...prev,
            repoTags: prev.repoTags.filter((t) => t !== ref),
            repoDigests: prev.repoDigests.filter((d) => d !== ref),
          });
        }
      }
    }
    await this.records.put(hexOf(record.id), record);
    for (const prev of losers.values()) await this.records.put(hexOf(prev.id), prev);
    for (const prev of losers.values()) this.index(prev);
    this.index(record);
  }

  async delete(id: Digest): Promise<void> {
    await this.records.delete(hexOf(id));
    this.unindex(id);
  }

  private index(r: ImageRecord): void {
    this.unindex(r.id);
    this.byId.set(r.id, r);
    for (const ref of [...r.repoTags, ...r.repoDigests]) this.byRef.set(ref, r.id);
  }

  private unindex(id: Digest): void {
    const old = this.byId.get(id);
    if (!old) return;
    for (const ref of [...old.repoTags, ...old.repoDigests]) if (this.byRef.get(ref) === id) this.byRef.delete(ref);
    this.byId.delete(id);
  }
}
