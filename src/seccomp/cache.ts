// DESIGN.md: "Compile each seccomp profile once and cache the BPF". The key is what the program
// depends on: the profile's content, the architecture, the kernel version, and only those
// capabilities the profile's rules test (containers differing in CAP_NET_RAW share one entry).
import { createHash } from 'node:crypto';
import { compileProfile } from './compile.js';
import type { CompileOptions } from './plan.js';
import type { SeccompProfile } from './profile.js';

/** A stable sha256 of a parsed profile: the parser emits fields in one order, bigints as decimals. */
export function profileDigest(profile: SeccompProfile): string {
  const json = JSON.stringify(profile, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return `sha256:${createHash('sha256').update(json).digest('hex')}`;
}

function relevantCaps(profile: SeccompProfile): Set<string> {
  const caps = new Set<string>();
  for (const s of profile.syscalls) for (const c of [...s.includes.caps, ...s.excludes.caps]) caps.add(c);
  return caps;
}

interface Digested {
  readonly digest: string;
  readonly caps: Set<string>;
}

export class SeccompCache {
  private readonly programs = new Map<string, Buffer>();
  // Profiles are long-lived objects (the default, a parsed Localhost file): hash each one once.
  private readonly digests = new WeakMap<SeccompProfile, Digested>();
  private compiles = 0;

  /** Bounded so many distinct Localhost profiles cannot grow the daemon without limit. */
  constructor(private readonly maxEntries = 64) {}

  /** The compiled program; shared between callers, who must not modify it. */
  get(profile: SeccompProfile, opts: CompileOptions): Buffer {
    let d = this.digests.get(profile);
    if (!d) {
      d = { digest: profileDigest(profile), caps: relevantCaps(profile) };
      this.digests.set(profile, d);
    }
    const caps = [...new Set(opts.capabilities)].filter((c) => d.caps.has(c)).sort();
    const key = `${d.digest}|${opts.arch}|${opts.kernelVersion ?? ''}|${caps.join(',')}`;
    const hit = this.programs.get(key);
    if (hit) {
      // Re-insert to mark it recently used: Map iterates in insertion order.
      this.programs.delete(key);
      this.programs.set(key, hit);
      return hit;
    }
    const program = compileProfile(profile, opts);
    this.compiles += 1;
    this.programs.set(key, program);
    if (this.programs.size > this.maxEntries) {
      const oldest = this.programs.keys().next().value;
      if (oldest !== undefined) this.programs.delete(oldest);
    }
    return program;
  }

  get stats(): { entries: number; compiles: number } {
    return { entries: this.programs.size, compiles: this.compiles };
  }
}
