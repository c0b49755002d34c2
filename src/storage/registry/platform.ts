// Which entry of a multi-platform image this node runs: OCI platforms speak Go's GOOS/GOARCH names,
// Node speaks its own, and ARM variants decide between entries that share an architecture.

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  /** "v7" for 32-bit ARM, "v8" for arm64 (often omitted), empty or absent otherwise. */
  readonly variant?: string;
}

/** Node's process.arch → GOARCH (+ variant). */
const NODE_TO_GO: Readonly<Record<string, { architecture: string; variant?: string }>> = {
  x64: { architecture: 'amd64' },
  arm64: { architecture: 'arm64', variant: 'v8' },
  arm: { architecture: 'arm', variant: 'v7' },
  ia32: { architecture: '386' },
  ppc64: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  riscv64: { architecture: 'riscv64' },
  loong64: { architecture: 'loong64' },
  mips64el: { architecture: 'mips64le' },
  mipsel: { architecture: 'mipsle' },
};

/** Spellings seen in the wild for the same architecture. */
const ARCH_ALIASES: Readonly<Record<string, string>> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', i386: '386' };

/** The platform of this node; `armVersion` is Node's arm_version build variable (6 or 7). */
export function hostPlatform(nodeArch: string = process.arch, armVersion: unknown = armBuildVersion()): Platform {
  const go = NODE_TO_GO[nodeArch] ?? { architecture: nodeArch };
  if (go.architecture === 'arm' && (armVersion === '6' || armVersion === 6)) return { os: 'linux', architecture: 'arm', variant: 'v6' };
  return go.variant === undefined ? { os: 'linux', architecture: go.architecture } : { os: 'linux', ...go };
}

function armBuildVersion(): unknown {
  const vars = (process.config as { variables?: Record<string, unknown> }).variables;
  return vars?.arm_version;
}

export function normalizePlatform(p: Platform): Platform {
  const architecture = ARCH_ALIASES[p.architecture] ?? p.architecture;
  let variant = p.variant ?? '';
  // Variants that mean "the baseline" are equivalent to none at all.
  if (architecture === 'arm64' && variant === 'v8') variant = '';
  if (architecture === 'amd64' && variant === 'v1') variant = '';
  if (architecture === 'arm' && variant === '') variant = 'v7';
  return variant === '' ? { os: p.os.toLowerCase(), architecture } : { os: p.os.toLowerCase(), architecture, variant };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/');
}

/**
 * Variants this host runs, best first: its own, then (ARM only) older ones it stays compatible
 * with, so an arm/v7 node takes v7, else v6, else v5.
 */
function acceptedVariants(host: Platform): string[] {
  const v = host.variant ?? '';
  if (host.architecture !== 'arm') return [v];
  const n = Number(v.slice(1));
  if (!/^v[0-9]+$/.test(v)) return [v];
  const out: string[] = [];
  for (let i = n; i >= 5; i--) out.push(`v${i}`);
  return out;
}

/**
 * Picks the entry for `host` among an index's entries: same OS and architecture, the closest
 * variant, else one without a platform; the first one listed among equals. Undefined when none fits.
 */
export function selectPlatform<T extends { platform?: Platform }>(entries: readonly T[], host: Platform): T | undefined {
  const want = normalizePlatform(host);
  const variants = acceptedVariants(want);
  let best: { entry: T; rank: number } | undefined;
  for (const entry of entries) {
    let rank = variants.length; // an entry that names no platform is a last resort, as in containerd
    if (entry.platform !== undefined) {
      const p = normalizePlatform(entry.platform);
      if (p.os !== want.os || p.architecture !== want.architecture) continue;
      rank = variants.indexOf(p.variant ?? '');
      if (rank === -1) continue;
    }
    if (best === undefined || rank < best.rank) best = { entry, rank };
  }
  return best?.entry;
}
