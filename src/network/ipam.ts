// Pod addresses from one subnet, persisted as one file per address (named by the address,
// holding the owner's sandbox id), created with O_EXCL: whatever this process believes, the
// kernel decides who got an address, so two daemons or a crash cannot hand one out twice.
// Allocation goes round-robin from the last address handed out (remembered in a small file, as
// CNI's host-local does), so a freed address is not reused at once while a peer may still
// have it in its ARP or conntrack tables. The in-memory map is a cache of the directory that
// lets allocation and release skip a directory scan on the RunPodSandbox and stop paths.
//
// The file calls are synchronous on purpose: a few tiny files without fsync cost ~0.25 ms that
// way against ~0.85 ms through the libuv thread pool, and with no await between looking at the
// cache and creating a file, concurrent calls in this process cannot interleave.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { SkiffError, hasErrno, internal, invalidArgument } from '../core/errors.js';
import type { OpContext } from '../core/context.js';

export interface IpAllocation {
  readonly address: string;
  readonly prefix: number;
  readonly gateway: string;
  readonly family: 4 | 6;
}

export interface IpamOptions {
  /** More addresses never to hand out (the network, gateway and v4 broadcast always are). */
  readonly reserved?: readonly string[];
  /** Defaults to the first address after the network address. */
  readonly gateway?: string;
}

const LAST_RESERVED = 'last_reserved_ip.0';

// ---- address arithmetic (bigint, so one code path serves IPv4 and IPv6) ----

export function parseIp(text: string): { value: bigint; family: 4 | 6 } | undefined {
  if (isIPv4(text)) {
    const v = text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { value: v, family: 4 };
  }
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let s = text.toLowerCase();
  // An embedded IPv4 tail ("::ffff:1.2.3.4") becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4?.[1]) {
    const n = Number(parseIp(v4[1])?.value ?? 0n);
    s = s.slice(0, -v4[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  return { value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n), family: 6 };
}

export function formatIp(value: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: the longest run (≥2) of zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export interface Subnet {
  readonly network: bigint;
  readonly prefix: number;
  readonly family: 4 | 6;
  /** Number of addresses in the subnet. */
  readonly size: bigint;
  readonly text: string;
}

/** Parses "10.88.0.0/16"; host bits are cleared, so "10.88.3.4/16" means 10.88.0.0/16. */
export function parseSubnet(cidr: string): Subnet {
  const slash = cidr.indexOf('/');
  const ip = parseIp(slash < 0 ? cidr : cidr.slice(0, slash));
  const prefixText = slash < 0 ? '' : cidr.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) throw invalidArgument(`${JSON.stringify(cidr)} is not a CIDR subnet`);
  const bits = ip.family === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  // Network, gateway, one pod (and the v4 broadcast) must fit.
  const maxPrefix = ip.family === 4 ? 30 : 126;
  if (prefix > maxPrefix) throw invalidArgument(`subnet ${cidr}: prefix /${prefix} leaves no address for pods (max /${maxPrefix})`);
  const size = 1n << BigInt(bits - prefix);
  const network = ip.value & ~(size - 1n) & ((1n << BigInt(bits)) - 1n);
  return { network, prefix, family: ip.family, size, text: `${formatIp(network, ip.family)}/${prefix}` };
}

export function subnetContains(s: Subnet, value: bigint): boolean {
  return value >= s.network && value < s.network + s.size;
}

// ---- the allocator ----

export class Ipam {
  readonly subnet: Subnet;
  readonly gateway: string;
  private readonly reserved = new Set<bigint>();
  /** File name (canonical address) → owner, for every allocation file in `dir`, in or out of the subnet. */
  private files = new Map<string, string>();
  private last: bigint | undefined;
  private loaded = false;

  constructor(
    readonly dir: string,
    subnetCidr: string,
    opts: IpamOptions = {},
  ) {
    this.subnet = parseSubnet(subnetCidr);
    const { network, size, family } = this.subnet;
    const gw = opts.gateway === undefined ? network + 1n : this.inSubnet(opts.gateway, 'gateway');
    this.gateway = formatIp(gw, family);
    this.reserved.add(network).add(gw);
    if (family === 4) this.reserved.add(network + size - 1n);
    for (const r of opts.reserved ?? []) this.reserved.add(this.inSubnet(r, 'reserved address'));
  }

  private inSubnet(text: string, what: string): bigint {
    const ip = parseIp(text);
    if (!ip || ip.family !== this.subnet.family || !subnetContains(this.subnet, ip.value)) {
      throw invalidArgument(`${what} ${JSON.stringify(text)} is not an address in ${this.subnet.text}`);
    }
    return ip.value;
  }

  private allocation(value: bigint): IpAllocation {
    const { family, prefix } = this.subnet;
    return { address: formatIp(value, family), prefix, gateway: this.gateway, family };
  }

  private path(name: string): string {
    return join(this.dir, name);
  }

  private load(): void {
    if (!this.loaded) this.scan();
  }

  /** Reads the directory into the cache (replacing it): at first use, when full, and at reconcile. */
  private scan(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const files = new Map<string, string>();
      for (const name of readdirSync(this.dir)) {
        const ip = parseIp(name);
        if (!ip || formatIp(ip.value, ip.family) !== name) continue;
        try {
          files.set(name, readFileSync(this.path(name), 'utf8').trim());
        } catch (e) {
          if (!hasErrno(e, 'ENOENT')) throw e;
        }
      }
      this.files = files;
      let lastText: string | undefined;
      try {
        lastText = readFileSync(this.path(LAST_RESERVED), 'utf8').trim();
      } catch (e) {
        if (!hasErrno(e, 'ENOENT')) throw e;
      }
      const last = lastText === undefined ? undefined : parseIp(lastText);
      if (last && last.family === this.subnet.family && subnetContains(this.subnet, last.value)) this.last = last.value;
      this.loaded = true;
    } catch (e) {
      throw internal(`ipam: reading ${this.dir}: ${(e as Error).message}`, e);
    }
  }

  private ownedNow(owner: string): string[] {
    return [...this.files].filter(([, o]) => o === owner).map(([name]) => name);
  }

  /**
   * One address for `owner` (a sandbox id). Asking again for an owner that holds an address in
   * this subnet returns that address, so a retried sandbox start does not leak one.
   */
  async allocate(ctx: OpContext, owner: string): Promise<IpAllocation> {
    if (owner === '' || /\s/.test(owner)) throw invalidArgument(`ipam: bad owner ${JSON.stringify(owner)}`);
    ctx.signal.throwIfAborted();
    this.load();
    for (const name of this.ownedNow(owner)) {
      const ip = parseIp(name);
      if (ip && ip.family === this.subnet.family && subnetContains(this.subnet, ip.value)) return this.allocation(ip.value);
    }
    let found = this.tryRange(owner);
    if (found === undefined) {
      // Full as far as the cache knows: another process may have freed some.
      this.scan();
      found = this.tryRange(owner);
    }
    if (found === undefined) {
      throw new SkiffError('ResourceExhausted', `no free address left in ${this.subnet.text} (${this.files.size} allocated)`);
    }
    this.last = found;
    try {
      writeFileSync(this.path(LAST_RESERVED), formatIp(found, this.subnet.family), { mode: 0o644 });
    } catch (e) {
      // Only steers the round-robin: losing it costs an earlier reuse of an address, nothing more.
      ctx.log.warn('ipam: could not remember the last address', { error: (e as Error).message });
    }
    return this.allocation(found);
  }

  /** Walks the subnet once, starting after the last address handed out. */
  private tryRange(owner: string): bigint | undefined {
    const { network, size, family } = this.subnet;
    const start = this.last === undefined ? network : this.last;
    for (let i = 1n; i <= size; i++) {
      const value = network + ((start - network + i) % size);
      if (this.reserved.has(value)) continue;
      const name = formatIp(value, family);
      if (this.files.has(name)) continue;
      try {
        writeFileSync(this.path(name), owner, { flag: 'wx', mode: 0o644 });
        this.files.set(name, owner);
        return value;
      } catch (e) {
        if (!hasErrno(e, 'EEXIST')) throw internal(`ipam: recording ${name} for ${owner}: ${(e as Error).message}`, e);
      }
      // Someone else's file (or one of ours the cache missed): learn its owner.
      let onDisk = '?';
      try {
        onDisk = readFileSync(this.path(name), 'utf8').trim();
      } catch {
        // Freed again in between: the next scan will see it.
      }
      this.files.set(name, onDisk);
      if (onDisk === owner) return value;
    }
    return undefined;
  }

  /** Frees every address `owner` holds; returns them. Idempotent. */
  async release(ctx: OpContext, owner: string): Promise<string[]> {
    ctx.signal.throwIfAborted();
    this.load();
    const released: string[] = [];
    for (const name of this.ownedNow(owner)) {
      let onDisk: string | undefined;
      try {
        onDisk = readFileSync(this.path(name), 'utf8').trim();
      } catch (e) {
        if (!hasErrno(e, 'ENOENT')) throw internal(`ipam: reading ${this.path(name)}: ${(e as Error).message}`, e);
      }
      if (onDisk !== undefined && onDisk !== owner) {
        // The cache was stale (another daemon took it after we last looked): not ours to free.
        this.files.set(name, onDisk);
        continue;
      }
      rmSync(this.path(name), { force: true });
      this.files.delete(name);
      released.push(name);
    }
    return released;
  }

  /** The addresses `owner` holds, in or out of the current subnet. */
  async owned(owner: string): Promise<string[]> {
    this.load();
    return this.ownedNow(owner);
  }

  /** Every allocation: address → owner. */
  async list(): Promise<Map<string, string>> {
    this.load();
    return new Map(this.files);
  }

  /**
   * Start-up: rereads the directory and frees every address whose owner is not in `liveOwners`
   * (sandboxes that no longer exist). Returns what was freed.
   */
  async reconcile(ctx: OpContext, liveOwners: ReadonlySet<string>): Promise<{ address: string; owner: string }[]> {
    this.scan();
    const freed: { address: string; owner: string }[] = [];
    for (const [address, owner] of [...this.files]) {
      if (liveOwners.has(owner)) continue;
      rmSync(this.path(address), { force: true });
      this.files.delete(address);
      freed.push({ address, owner });
    }
    if (freed.length) ctx.log.info('ipam: freed addresses of sandboxes that are gone', { count: freed.length });
    return freed;
  }
}
