// hostPort mappings and pod masquerade as iptables-restore input: pure functions, so the exact
// text is covered by unit tests and the manager (hostport.ts) only spawns iptables-restore.
//
// Chains (nat table; PREFIX is "SKIFF" in the daemon, something unique in tests):
//   PREFIX-HOSTPORTS    jumped from PREROUTING and OUTPUT for --dst-type LOCAL: one rule per
//                       mapping, matching protocol, port and host IP, jumping to the pod's chain.
//   PREFIX-HP-<hash>    per pod: marks hairpin (source in the pod subnet) and localhost (source
//                       127/8) connections for masquerade, then DNATs to podIP:containerPort.
//   PREFIX-MARK-MASQ    sets the masquerade mark bit (0x2000, the bit CNI's portmap uses).
//   PREFIX-POSTROUTING  jumped from POSTROUTING: masquerades marked packets and pod traffic
//                       leaving the subnet.
// and in the filter table PREFIX-FIREWALL (jumped from INPUT), which drops packets from the
// bridge addressed to 127/8 that are not replies or DNAT results: route_localnet=1 on the bridge,
// which localhost hostPorts need, would otherwise let pods reach services bound to the host's
// 127.0.0.1 (CVE-2020-8558; kube-proxy installs the same rule).
//
// `iptables-restore --noflush` flushes every chain the input declares and leaves the rest alone.
// So every update declares and rebuilds all of our chains from the full set of pods: the
// dispatcher chain is shared and cannot be edited per pod anyway, a pod's removal is "rebuild
// without it, then -X its chain", and an update also repairs anything that drifted. The jump
// rules in the built-in chains are the exception (declaring a built-in chain would flush it):
// they are added once, by init, only when an iptables-save taken just before shows them missing.
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { failedPrecondition, invalidArgument } from '../core/errors.js';

export type HostportProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface PortMapping {
  readonly protocol: HostportProtocol;
  readonly hostPort: number;
  readonly containerPort: number;
  /** Empty, undefined, 0.0.0.0 or :: mean every address of the node. */
  readonly hostIP?: string;
}

export interface PodPorts {
  readonly sandboxId: string;
  readonly podIP: string;
  readonly mappings: readonly PortMapping[];
}

export interface RuleOptions {
  readonly chainPrefix: string;
  /** The pod subnet (IPv4 CIDR): masquerade source and hairpin match. */
  readonly subnet: string;
  readonly masqMark?: number;
}

export const DEFAULT_CHAIN_PREFIX = 'SKIFF';
export const DEFAULT_MASQ_MARK = 0x2000;
const LOCALHOST_NET = '127.0.0.0/8';
const MULTICAST_NET = '224.0.0.0/4';

export function checkChainPrefix(prefix: string): void {
  // Chain names are limited to 28 characters; the longest we build is PREFIX-POSTROUTING.
  if (!/^[A-Z][A-Z0-9]{0,9}$/.test(prefix)) throw invalidArgument(`chain prefix ${JSON.stringify(prefix)}: want 1-10 of A-Z0-9`);
}

export function chainNames(prefix: string) {
  return {
    hostports: `${prefix}-HOSTPORTS`,
    postrouting: `${prefix}-POSTROUTING`,
    markMasq: `${prefix}-MARK-MASQ`,
    firewall: `${prefix}-FIREWALL`,
    podPrefix: `${prefix}-HP-`,
  };
}

/** The pod's chain: a hash, because sandbox ids are longer than a chain name may be. */
export function podChain(prefix: string, sandboxId: string): string {
  return `${prefix}-HP-${createHash('sha256').update(sandboxId).digest('hex').slice(0, 10)}`;
}

const anyHost = (ip: string | undefined) => ip === undefined || ip === '' || ip === '0.0.0.0' || ip === '::';

function validPort(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

function describe(m: PortMapping): string {
  return `${anyHost(m.hostIP) ? '' : `${m.hostIP}:`}${m.hostPort}/${m.protocol}`;
}

/** Same protocol and port, and host IPs that can meet (equal, or either one is "any"). */
function overlaps(a: PortMapping, b: PortMapping): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (anyHost(a.hostIP) || anyHost(b.hostIP) || a.hostIP === b.hostIP);
}

/**
 * Checks a pod's mappings and returns the ones that need rules. hostPort 0 means "no host port"
 * (kubelet sends every declared container port) and is dropped, as containerd does; exact
 * duplicates collapse; two mappings of one host port to different targets are InvalidArgument.
 */
export function normalizeMappings(podIP: string, mappings: readonly PortMapping[]): PortMapping[] {
  const out: PortMapping[] = [];
  for (const raw of mappings) {
    if (raw.hostPort === 0) continue;
    const protocol = String(raw.protocol).toUpperCase();
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
      throw invalidArgument(`port mapping: unknown protocol ${JSON.stringify(raw.protocol)}`);
    }
    if (!validPort(raw.hostPort)) throw invalidArgument(`port mapping: host port ${raw.hostPort} is not in 1-65535`);
    if (!validPort(raw.containerPort)) {
      throw invalidArgument(`port mapping: container port ${raw.containerPort} is not in 1-65535`);
    }
    if (!anyHost(raw.hostIP) && !isIPv4(raw.hostIP ?? '')) {
      throw invalidArgument(`port mapping ${raw.hostPort}/${protocol}: host IP ${JSON.stringify(raw.hostIP)} is not an IPv4 address`);
    }
    const m: PortMapping = {
      protocol,
      hostPort: raw.hostPort,
      containerPort: raw.containerPort,
      ...(anyHost(raw.hostIP) ? {} : { hostIP: raw.hostIP }),
    };
    const clash = out.find((o) => overlaps(o, m));
    if (clash && clash.containerPort === m.containerPort && clash.hostIP === m.hostIP) continue;
    if (clash) throw invalidArgument(`port mapping: host port ${describe(m)} is given twice with different targets`);
    out.push(m);
  }
  if (out.length && !isIPv4(podIP)) {
    throw invalidArgument(`hostPorts need an IPv4 pod address; ${JSON.stringify(podIP)} is not one`);
  }
  return out;
}

/** FailedPrecondition when one of `pod`'s host ports is already mapped by another pod. */
export function checkConflicts(others: Iterable<PodPorts>, pod: PodPorts): void {
  for (const other of others) {
    if (other.sandboxId === pod.sandboxId) continue;
    for (const m of pod.mappings) {
      const taken = other.mappings.find((o) => overlaps(o, m));
      if (taken) {
        throw failedPrecondition(
          `host port ${describe(m)} is already in use by pod sandbox ${other.sandboxId.slice(0, 13)} (${describe(taken)})`,
        );
      }
    }
  }
}

function match(m: PortMapping): string {
  const p = m.protocol.toLowerCase();
  return `${m.hostIP ? `-d ${m.hostIP}/32 ` : ''}-p ${p} -m ${p} --dport ${m.hostPort}`;
}

function comment(sandboxId: string): string {
  // Only ids that need no quoting rules of their own: everything Skiff generates.
  return /^[A-Za-z0-9._-]{1,64}$/.test(sandboxId) ? ` -m comment --comment "sandbox ${sandboxId}"` : '';
}

/** The rules of every nat chain we own, rebuilt from `pods`, then -X for the chains in `dropChains`. */
export function natRules(pods: readonly PodPorts[], opts: RuleOptions, dropChains: readonly string[] = []): string[] {
  const c = chainNames(opts.chainPrefix);
  const mark = `0x${(opts.masqMark ?? DEFAULT_MASQ_MARK).toString(16)}`;
  const live = pods.filter((p) => p.mappings.length > 0);
  const podChains = live.map((p) => podChain(opts.chainPrefix, p.sandboxId));
  const drop = dropChains.filter((d) => !podChains.includes(d));
  const lines = [c.hostports, c.postrouting, c.markMasq, ...podChains, ...drop].map((n) => `:${n} - [0:0]`);
  lines.push(
    `-A ${c.markMasq} -j MARK --set-xmark ${mark}/${mark}`,
    `-A ${c.postrouting} -m mark --mark ${mark}/${mark} -j MASQUERADE`,
    `-A ${c.postrouting} -s ${opts.subnet} -d ${MULTICAST_NET} -j RETURN`,
    `-A ${c.postrouting} -s ${opts.subnet} ! -d ${opts.subnet} -j MASQUERADE`,
  );
  live.forEach((pod, i) => {
    const chain = podChains[i] as string;
    for (const m of pod.mappings) {
      lines.push(`-A ${c.hostports} ${match(m)}${comment(pod.sandboxId)} -j ${chain}`);
    }
    for (const m of pod.mappings) {
      lines.push(
        `-A ${chain} -s ${opts.subnet} ${match(m)} -j ${c.markMasq}`,
        `-A ${chain} -s ${LOCALHOST_NET} ${match(m)} -j ${c.markMasq}`,
        `-A ${chain} ${match(m)} -j DNAT --to-destination ${pod.podIP}:${m.containerPort}`,
      );
    }
  });
  for (const d of drop) lines.push(`-X ${d}`);
  return lines;
}

/** The iptables-restore input (for --noflush) of one update: every pod's rules in one transaction. */
export function hostportRules(pods: readonly PodPorts[], opts: RuleOptions, dropChains: readonly string[] = []): string {
  return ['*nat', ...natRules(pods, opts, dropChains), 'COMMIT', ''].join('\n');
}

export function firewallRules(prefix: string, bridge: string): string[] {
  const c = chainNames(prefix);
  return [
    `:${c.firewall} - [0:0]`,
    `-A ${c.firewall} -i ${bridge} ! -s ${LOCALHOST_NET} -d ${LOCALHOST_NET} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
  ];
}

// ---- reading iptables-save, to add the built-in chain jumps once ----

export interface JumpRule {
  readonly table: 'nat' | 'filter';
  readonly chain: string;
  /** The rule after "-A CHAIN ", without the jump. */
  readonly match: string;
  readonly target: string;
}

export function jumpRules(prefix: string): JumpRule[] {
  const c = chainNames(prefix);
  const local = '-m addrtype --dst-type LOCAL';
  return [
    { table: 'nat', chain: 'PREROUTING', match: local, target: c.hostports },
    { table: 'nat', chain: 'OUTPUT', match: local, target: c.hostports },
    { table: 'nat', chain: 'POSTROUTING', match: '', target: c.postrouting },
    { table: 'filter', chain: 'INPUT', match: '', target: c.firewall },
  ];
}

export interface SavedTables {
  /** table → its lines (rules and chain declarations) as iptables-save printed them. */
  readonly tables: Map<string, string[]>;
}

export function parseIptablesSave(text: string): SavedTables {
  const tables = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      current = [];
      tables.set(line.slice(1).trim(), current);
    } else if (line === 'COMMIT') current = undefined;
    else if (current && (line.startsWith('-A ') || line.startsWith(':'))) current.push(line);
  }
  return { tables };
}

const jumpsTo = (line: string, chain: string, target: string) =>
  line.startsWith(`-A ${chain} `) && new RegExp(` -j ${target}( |$)`).test(line);

/**
 * The restore lines that make each jump rule exist exactly once: `-I` where it is missing, `-D`
 * for extra copies (two daemons starting at once, or a crash between save and restore).
 */
export function jumpFixes(saved: SavedTables, jumps: readonly JumpRule[]): Map<'nat' | 'filter', string[]> {
  const fixes = new Map<'nat' | 'filter', string[]>([['nat', []], ['filter', []]]);
  for (const j of jumps) {
    const found = (saved.tables.get(j.table) ?? []).filter((l) => jumpsTo(l, j.chain, j.target));
    const out = fixes.get(j.table) as string[];
    if (found.length === 0) out.push(`-I ${j.chain} 1${j.match ? ` ${j.match}` : ''} -j ${j.target}`);
    for (const extra of found.slice(1)) out.push(`-D ${extra.slice(3)}`);
  }
  return fixes;
}

/** The chains of ours a saved table holds (declared with ":NAME"). */
export function savedChains(saved: SavedTables, table: string, prefix: string): string[] {
  return (saved.tables.get(table) ?? [])
    .filter((l) => l.startsWith(`:${prefix}-`))
    .map((l) => l.slice(1).split(' ')[0] as string);
}

/** Every jump into one of our chains from a built-in one, as "-D …" lines: for uninstall. */
export function jumpRemovals(saved: SavedTables, table: string, prefix: string): string[] {
  return (saved.tables.get(table) ?? [])
    .filter((l) => /^-A [A-Z]+ /.test(l) && new RegExp(` -j ${prefix}-[A-Z0-9-]+( |$)`).test(l))
    .filter((l) => !l.startsWith(`-A ${prefix}-`))
    .map((l) => `-D ${l.slice(3)}`);
}
