// The three files every container of a pod bind-mounts: resolv.conf, hosts and hostname. Their
// text comes from pure functions (unit-tested as tables); writePodFiles puts them on disk
// atomically, so a container started during a rewrite never sees half a file. The writes are
// synchronous: three tiny files on a tmpfs cost about a quarter of what the same calls cost as
// thread-pool round trips, and this is on the RunPodSandbox path.
import { closeSync, fchmodSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { hasErrno, invalidArgument } from '../core/errors.js';
import type { OpContext } from '../core/context.js';

/** CRI's DNSConfig. */
export interface DnsConfig {
  readonly servers?: readonly string[];
  readonly searches?: readonly string[];
  readonly options?: readonly string[];
}

export interface ResolvConf {
  readonly content: string;
  /** True when the pod got the host's file (no DNS config was given). */
  readonly fromHost: boolean;
  /** Loopback nameservers taken out of the host's file: they cannot answer inside a pod's netns. */
  readonly droppedNameservers: string[];
  /** False when no nameserver line is left: every lookup in the pod will fail. */
  readonly hasNameserver: boolean;
}

export interface HostEntry {
  readonly ip: string;
  readonly names: readonly string[];
}

// A token of resolv.conf or hosts: anything with whitespace or control characters would let a
// value add lines of its own ("x\nnameserver 6.6.6.6").
const TOKEN = /^[\x21-\x7e]+$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

function tokens(what: string, list: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const t of list ?? []) {
    if (!TOKEN.test(t)) throw invalidArgument(`DNS ${what} ${JSON.stringify(t)} is not a single printable word`);
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

function isLoopback(ip: string): boolean {
  return (isIP(ip) === 4 && ip.startsWith('127.')) || ip === '::1' || ip === '0:0:0:0:0:0:0:1';
}

/**
 * The pod's resolv.conf. A DNS config with anything in it is written as containerd does
 * (search, nameserver, options lines; duplicates dropped, order kept; kubelet already enforces
 * the search-path limits). Without one the pod gets the host's file, minus loopback
 * nameservers (systemd-resolved's 127.0.0.53 listens in the host's netns, not the pod's) unless
 * `keepLoopback` is set, as it should be for pods on the host network.
 */
export function resolvConf(
  dns: DnsConfig | undefined,
  hostResolvConf: string,
  opts: { keepLoopback?: boolean } = {},
): ResolvConf {
  const servers = tokens('server', dns?.servers);
  const searches = tokens('search', dns?.searches);
  const options = tokens('option', dns?.options);
  for (const s of servers) if (!isIP(s)) throw invalidArgument(`DNS server ${JSON.stringify(s)} is not an IP address`);
  if (servers.length || searches.length || options.length) {
    const lines: string[] = [];
    if (searches.length) lines.push(`search ${searches.join(' ')}`);
    for (const s of servers) lines.push(`nameserver ${s}`);
    if (options.length) lines.push(`options ${options.join(' ')}`);
    return { content: lines.join('\n') + '\n', fromHost: false, droppedNameservers: [], hasNameserver: servers.length > 0 };
  }
  const dropped: string[] = [];
  let hasNameserver = false;
  const kept = hostResolvConf.split('\n').filter((line) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m?.[1]) return true;
    if (!opts.keepLoopback && isLoopback(m[1])) {
      dropped.push(m[1]);
      return false;
    }
    hasNameserver = true;
    return true;
  });
  let content = kept.join('\n');
  if (content !== '' && !content.endsWith('\n')) content += '\n';
  return { content, fromHost: true, droppedNameservers: dropped, hasNameserver };
}

function checkHostname(hostname: string): void {
  if (!HOSTNAME.test(hostname)) throw invalidArgument(`hostname ${JSON.stringify(hostname)} is not a valid host name`);
}

/** The pod's /etc/hosts: the usual loopback and IPv6 names, then the pod's addresses. */
export function hostsFile(hostname: string, podIPs: readonly string[], extra: readonly HostEntry[] = []): string {
  checkHostname(hostname);
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  for (const ip of podIPs) {
    if (!isIP(ip)) throw invalidArgument(`pod IP ${JSON.stringify(ip)} is not an IP address`);
    lines.push(`${ip}\t${hostname}`);
  }
  for (const e of extra) {
    if (!isIP(e.ip)) throw invalidArgument(`host entry ${JSON.stringify(e.ip)} is not an IP address`);
    if (e.names.length === 0) continue;
    for (const n of e.names) if (!TOKEN.test(n)) throw invalidArgument(`host name ${JSON.stringify(n)} is not a single word`);
    lines.push(`${e.ip}\t${e.names.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

export function hostnameFile(hostname: string): string {
  checkHostname(hostname);
  return `${hostname}\n`;
}

export interface PodFilesSpec {
  /** Empty or missing: the node's host name, as containerd does. */
  readonly hostname?: string;
  readonly podIPs: readonly string[];
  readonly dns?: DnsConfig;
  readonly extraHosts?: readonly HostEntry[];
  /** Host-network pods get the host's hosts file and keep loopback nameservers. */
  readonly hostNetwork?: boolean;
  readonly hostResolvConfPath?: string;
  readonly hostHostsPath?: string;
}

export interface PodFilePaths {
  readonly resolvConf: string;
  readonly hosts: string;
  readonly hostname: string;
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return '';
    throw e;
  }
}

/** tmp + rename in the same directory. No fsync: these live under /run and die with the boot. */
function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeSync(fd, content);
    fchmodSync(fd, 0o644); // the mode given to open() is subject to the umask
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes `resolv.conf`, `hosts` and `hostname` into `dir` (which must exist), mode 0644. */
export async function writePodFiles(ctx: OpContext, dir: string, spec: PodFilesSpec): Promise<PodFilePaths> {
  const name = spec.hostname || osHostname();
  const given = (spec.dns?.servers?.length ?? 0) + (spec.dns?.searches?.length ?? 0) + (spec.dns?.options?.length ?? 0);
  // The host file matters only when no DNS config is given: do not read it otherwise.
  const hostResolv = given ? '' : readOptional(spec.hostResolvConfPath ?? '/etc/resolv.conf');
  const resolv = resolvConf(spec.dns, hostResolv, { keepLoopback: spec.hostNetwork === true });
  if (resolv.droppedNameservers.length && !resolv.hasNameserver) {
    ctx.log.warn('pod gets no nameserver: the host resolv.conf lists only loopback resolvers, which a pod cannot reach', {
      dropped: resolv.droppedNameservers,
      hint: 'point the host file at the upstream servers (systemd-resolved: /run/systemd/resolve/resolv.conf)',
    });
  }
  const hosts = spec.hostNetwork ? readOptional(spec.hostHostsPath ?? '/etc/hosts') : hostsFile(name, spec.podIPs, spec.extraHosts);
  const hostname = hostnameFile(name);
  const paths: PodFilePaths = {
    resolvConf: join(dir, 'resolv.conf'),
    hosts: join(dir, 'hosts'),
    hostname: join(dir, 'hostname'),
  };
  writeAtomic(paths.resolvConf, resolv.content);
  writeAtomic(paths.hosts, hosts);
  writeAtomic(paths.hostname, hostname);
  return paths;
}
