// tar-stream decodes PAX record values as UTF-8 strings, which mangles binary xattr values such as
// security.capability (a capability bit in 0x80 is not valid UTF-8). We keep the raw bytes by
// wrapping the extractor's long-header decoder; if a future tar-stream renames that internal, we
// fall back to its decoded strings.
import type { Extract } from 'tar-stream';

type RawPax = Map<string, Buffer>;

interface ExtractInternals {
  _decodeLongHeader?: (buf: Buffer) => void;
  _header?: { type?: string | null } | null;
}

/**
 * Installs the hook; the returned function hands out the raw records that belong to the entry
 * tar-stream emits next (call it once per entry whose header has `pax`).
 */
export function captureRawPax(extract: Extract): () => RawPax | undefined {
  const inner = extract as unknown as ExtractInternals;
  const original = inner._decodeLongHeader;
  if (typeof original !== 'function') return () => undefined;
  let global: RawPax | undefined;
  let local: RawPax | undefined;
  inner._decodeLongHeader = function (this: ExtractInternals, buf: Buffer) {
    const type = this._header?.type;
    if (type === 'pax-header') local = decodePaxRaw(buf);
    else if (type === 'pax-global-header') global = decodePaxRaw(buf);
    original.call(this, buf);
  };
  return () => {
    const mine = local;
    local = undefined;
    if (!global) return mine;
    return new Map([...global, ...(mine ?? [])]);
  };
}

/** Records are "<len> <key>=<value>\n", len counting the whole record in bytes. */
export function decodePaxRaw(buf: Buffer): RawPax {
  const out: RawPax = new Map();
  let off = 0;
  while (off < buf.length) {
    const space = buf.indexOf(0x20, off);
    if (space === -1) break;
    const len = parseInt(buf.toString('latin1', off, space), 10);
    if (!(len > 0) || off + len > buf.length) break;
    const end = off + len - 1; // the record's trailing newline
    const eq = buf.indexOf(0x3d, space + 1);
    if (eq === -1 || eq > end) break;
    out.set(buf.toString('utf8', space + 1, eq), Buffer.from(buf.subarray(eq + 1, end)));
    off += len;
  }
  return out;
}
