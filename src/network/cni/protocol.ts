// The CNI exec protocol as pure functions: the environment and stdin a plugin gets, what its
// stdout means (a result, or an error object), and which error kind a plugin's code becomes.
// The runner (runner.ts) only spawns; everything here is covered by unit tests.
import { SkiffError, invalidArgument, type ErrorKind } from '../../core/errors.js';
import { compareVersions, type CniNetworkList, type CniPluginConf } from './config.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'VERSION';

/** The pod identity CRI runtimes pass in CNI_ARGS. */
export interface CniPodArgs {
  readonly K8S_POD_NAMESPACE: string;
  readonly K8S_POD_NAME: string;
  readonly K8S_POD_INFRA_CONTAINER_ID: string;
  readonly K8S_POD_UID?: string;
}

export interface CniPortMapping {
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: string;
  readonly hostIP?: string;
}

/** Values for the plugins' `runtimeConfig`, handed to those that list the key in `capabilities`. */
export interface CniRuntimeConfig {
  readonly portMappings?: readonly CniPortMapping[];
  readonly dns?: { readonly servers?: readonly string[]; readonly searches?: readonly string[]; readonly options?: readonly string[] };
  readonly [key: string]: unknown;
}

export interface CniInvocation {
  readonly command: CniCommand;
  readonly containerId?: string;
  readonly netns?: string;
  readonly ifName?: string;
  readonly args?: string;
  readonly path: readonly string[];
}

/** "IgnoreUnknown=1;K8S_POD_NAMESPACE=…;…", the form kubelet's runtimes use. */
export function cniArgs(pod: CniPodArgs): string {
  const pairs: [string, string | undefined][] = [
    ['K8S_POD_NAMESPACE', pod.K8S_POD_NAMESPACE],
    ['K8S_POD_NAME', pod.K8S_POD_NAME],
    ['K8S_POD_INFRA_CONTAINER_ID', pod.K8S_POD_INFRA_CONTAINER_ID],
    ['K8S_POD_UID', pod.K8S_POD_UID],
  ];
  const parts = ['IgnoreUnknown=1'];
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    // The format has no quoting: a ';' or '=' in a value would forge another argument.
    if (/[;=\s]/.test(v)) throw invalidArgument(`CNI argument ${k}=${JSON.stringify(v)} contains ';', '=' or whitespace`);
    parts.push(`${k}=${v}`);
  }
  return parts.join(';');
}

/** The plugin's environment: the daemon's (minus stale CNI_ variables) plus the protocol's. */
export function cniEnv(base: Readonly<Record<string, string | undefined>>, inv: CniInvocation): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !k.startsWith('CNI_')) env[k] = v;
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  env.CNI_COMMAND = inv.command;
  env.CNI_PATH = inv.path.join(':');
  if (inv.containerId !== undefined) env.CNI_CONTAINERID = inv.containerId;
  if (inv.netns !== undefined) env.CNI_NETNS = inv.netns;
  if (inv.ifName !== undefined) env.CNI_IFNAME = inv.ifName;
  if (inv.args !== undefined) env.CNI_ARGS = inv.args;
  return env;
}

/** The runtimeConfig keys the plugin declared as capabilities, or undefined when none apply. */
export function filterRuntimeConfig(
  plugin: CniPluginConf,
  rc: CniRuntimeConfig | undefined,
): Record<string, unknown> | undefined {
  if (!rc) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, on] of Object.entries(plugin.capabilities)) if (on && rc[k] !== undefined) out[k] = rc[k];
  return Object.keys(out).length ? out : undefined;
}

/** A plugin's stdin: its own config plus the list's name and version, prevResult and runtimeConfig. */
export function pluginStdin(
  list: CniNetworkList,
  plugin: CniPluginConf,
  opts: { prevResult?: unknown; runtimeConfig?: CniRuntimeConfig } = {},
): string {
  const conf: Record<string, unknown> = { ...plugin.raw, name: list.name, cniVersion: list.cniVersion };
  if (opts.prevResult !== undefined) conf.prevResult = opts.prevResult;
  else delete conf.prevResult;
  const rc = filterRuntimeConfig(plugin, opts.runtimeConfig);
  if (rc) conf.runtimeConfig = rc;
  return JSON.stringify(conf);
}

/** CRI port mappings → the portmap plugin's form: lower-case protocol, hostPort 0 dropped. */
export function cniPortMappings(
  mappings: readonly { protocol: string; hostPort: number; containerPort: number; hostIP?: string }[],
): CniPortMapping[] {
  return mappings
    .filter((m) => m.hostPort > 0)
    .map((m) => ({
      hostPort: m.hostPort,
      containerPort: m.containerPort,
      protocol: m.protocol.toLowerCase(),
      ...(m.hostIP ? { hostIP: m.hostIP } : {}),
    }));
}

// ---- results ----

export interface CniInterface {
  readonly name: string;
  readonly mac?: string;
  readonly sandbox?: string;
}

export interface CniIpConfig {
  /** CIDR: "10.22.0.5/16". */
  readonly address: string;
  readonly gateway?: string;
  /** Index into interfaces. */
  readonly interface?: number;
}

export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces: readonly CniInterface[];
  readonly ips: readonly CniIpConfig[];
  readonly dns?: { readonly nameservers?: string[]; readonly domain?: string; readonly search?: string[]; readonly options?: string[] };
  /** The object as the plugin printed it: the next plugin's prevResult, and what DEL/CHECK need later. */
  readonly raw: Record<string, unknown>;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const strings = (x: unknown): string[] | undefined =>
  Array.isArray(x) && x.every((s) => typeof s === 'string') ? (x as string[]) : undefined;

/** Checks a result object; anything that is not a result is Internal, naming `who`. */
export function parseCniResult(doc: unknown, who: string): CniResult {
  if (!isObject(doc)) throw new SkiffError('Internal', `${who}: result is not a JSON object`);
  const interfaces: CniInterface[] = [];
  for (const i of Array.isArray(doc.interfaces) ? doc.interfaces : []) {
    if (!isObject(i) || typeof i.name !== 'string') throw new SkiffError('Internal', `${who}: malformed interface in result`);
    interfaces.push({
      name: i.name,
      ...(typeof i.mac === 'string' ? { mac: i.mac } : {}),
      ...(typeof i.sandbox === 'string' && i.sandbox !== '' ? { sandbox: i.sandbox } : {}),
    });
  }
  const ips: CniIpConfig[] = [];
  for (const ip of Array.isArray(doc.ips) ? doc.ips : []) {
    if (!isObject(ip) || typeof ip.address !== 'string' || !ip.address.includes('/')) {
      throw new SkiffError('Internal', `${who}: malformed IP in result`);
    }
    ips.push({
      address: ip.address,
      ...(typeof ip.gateway === 'string' ? { gateway: ip.gateway } : {}),
      ...(typeof ip.interface === 'number' ? { interface: ip.interface } : {}),
    });
  }
  let dns: CniResult['dns'];
  if (isObject(doc.dns)) {
    const d = doc.dns;
    dns = {
      ...(strings(d.nameservers) ? { nameservers: strings(d.nameservers) } : {}),
      ...(typeof d.domain === 'string' ? { domain: d.domain } : {}),
      ...(strings(d.search) ? { search: strings(d.search) } : {}),
      ...(strings(d.options) ? { options: strings(d.options) } : {}),
    };
  }
  const cniVersion = typeof doc.cniVersion === 'string' ? doc.cniVersion : '';
  return { cniVersion, interfaces, ips, ...(dns ? { dns } : {}), raw: doc };
}

/**
 * The pod's addresses: IPs on the sandbox interface called `ifName` (or, when the result names no
 * interfaces, all of them). Address without prefix, plus prefix and gateway.
 */
export function podAddresses(result: CniResult, ifName: string): { address: string; prefix: number; gateway?: string }[] {
  const wanted = result.ips.filter((ip) => {
    if (ip.interface === undefined) return true;
    const i = result.interfaces[ip.interface];
    return i !== undefined && i.sandbox !== undefined && i.name === ifName;
  });
  return wanted.map((ip) => {
    const [address = '', prefix = '0'] = ip.address.split('/');
    return { address, prefix: Number(prefix), ...(ip.gateway ? { gateway: ip.gateway } : {}) };
  });
}

// ---- errors ----

export interface CniErrorObject {
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

export function parseCniError(stdout: string): CniErrorObject | undefined {
  try {
    const doc: unknown = JSON.parse(stdout);
    if (isObject(doc) && typeof doc.code === 'number') {
      return {
        code: doc.code,
        msg: typeof doc.msg === 'string' ? doc.msg : '',
        ...(typeof doc.details === 'string' && doc.details ? { details: doc.details } : {}),
      };
    }
  } catch {
    // Not JSON: the caller falls back to stderr.
  }
  return undefined;
}

/** The spec's well-known codes; plugin-specific ones (100+) are Internal. */
export function cniErrorKind(code: number): ErrorKind {
  switch (code) {
    case 1: // incompatible CNI version
    case 2: // unsupported field in network configuration
    case 7: // invalid network configuration
      return 'FailedPrecondition';
    case 3: // container unknown or does not exist
      return 'NotFound';
    case 11: // try again later
    case 50: // plugin not available
    case 51: // plugin not available, existing containers may be limited
      return 'Unavailable';
    default:
      return 'Internal';
  }
}

/** Whether DEL gets the ADD result and CHECK is defined: both came with CNI 0.4.0. */
export const hasPrevResultOnDel = (list: CniNetworkList) => compareVersions(list.cniVersion, '0.4.0') >= 0;
export const supportsStatus = (list: CniNetworkList) => compareVersions(list.cniVersion, '1.1.0') >= 0;
