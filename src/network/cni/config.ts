// CNI network configuration: the first file of the conf dir by name order (.conflist, .conf or
// .json, as libcni and containerd pick it), checked and turned into a network list. A single
// .conf becomes a list of one plugin. The plugins' own fields stay untouched in `raw`: they are
// what each plugin gets on stdin.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, hasErrno } from '../../core/errors.js';

export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const CONF_EXTENSIONS = ['.conflist', '.conf', '.json'] as const;

export interface CniPluginConf {
  readonly type: string;
  /** Which runtimeConfig keys (portMappings, dns, …) the plugin asks for. */
  readonly capabilities: Readonly<Record<string, boolean>>;
  /** The plugin's configuration object as written. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface CniNetworkList {
  readonly cniVersion: string;
  readonly name: string;
  readonly disableCheck: boolean;
  readonly plugins: readonly CniPluginConf[];
  /** The file it came from. */
  readonly file: string;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Compares dotted versions numerically: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function pluginConf(x: unknown, where: string): CniPluginConf {
  if (!isObject(x)) throw failedPrecondition(`${where}: a plugin configuration must be an object`);
  const type = x.type;
  // The type names a binary in the plugin dirs: no path separators, no dot-dot.
  if (typeof type !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(type)) {
    throw failedPrecondition(`${where}: plugin "type" must name a plugin binary, got ${JSON.stringify(type)}`);
  }
  const caps: Record<string, boolean> = {};
  if (x.capabilities !== undefined) {
    if (!isObject(x.capabilities)) throw failedPrecondition(`${where}: plugin ${type}: "capabilities" must be an object`);
    for (const [k, v] of Object.entries(x.capabilities)) {
      if (typeof v !== 'boolean') throw failedPrecondition(`${where}: plugin ${type}: capability ${k} must be true or false`);
      caps[k] = v;
    }
  }
  return { type, capabilities: caps, raw: x };
}

/** Parses one configuration file's text; `file` names it in errors. */
export function parseCniConfig(text: string, file: string): CniNetworkList {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw failedPrecondition(`CNI config ${file} is not JSON: ${(e as Error).message}`, e);
  }
  if (!isObject(doc)) throw failedPrecondition(`CNI config ${file} must hold a JSON object`);
  const { cniVersion, name } = doc;
  if (typeof cniVersion !== 'string' || !(SUPPORTED_CNI_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw failedPrecondition(
      `CNI config ${file}: cniVersion ${JSON.stringify(cniVersion)} is not one of ${SUPPORTED_CNI_VERSIONS.join(', ')}`,
    );
  }
  if (typeof name !== 'string' || name === '') throw failedPrecondition(`CNI config ${file}: "name" is missing`);
  const isList = file.endsWith('.conflist') || Array.isArray(doc.plugins);
  let plugins: CniPluginConf[];
  if (isList) {
    if (!Array.isArray(doc.plugins) || doc.plugins.length === 0) {
      throw failedPrecondition(`CNI config ${file}: "plugins" must be a non-empty list`);
    }
    plugins = doc.plugins.map((p, i) => pluginConf(p, `CNI config ${file}, plugin ${i}`));
  } else {
    plugins = [pluginConf(doc, `CNI config ${file}`)];
  }
  const disableCheck = doc.disableCheck === true || doc.disableCheck === 'true';
  return { cniVersion, name, disableCheck, plugins, file };
}

/** The configuration file that counts, or undefined when the directory has none (or is missing). */
export async function findCniConfigFile(confDir: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(confDir);
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
  // Byte order, as Go's sort.Strings orders them for libcni.
  const first = names
    .filter((n) => !n.startsWith('.') && CONF_EXTENSIONS.some((x) => n.endsWith(x)))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[0];
  return first === undefined ? undefined : join(confDir, first);
}

/**
 * Loads the network list kubelet-style runtimes use: the first file by name. undefined means "no
 * network configured yet" (NetworkReady false); a broken first file is FailedPrecondition rather
 * than a silent fall-through to the next one.
 */
export async function loadCniConfig(confDir: string): Promise<CniNetworkList | undefined> {
  // Twice at most: the file may go away between readdir and read while an installer replaces it.
  for (let attempt = 0; ; attempt++) {
    const file = await findCniConfigFile(confDir);
    if (file === undefined) return undefined;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if (hasErrno(e, 'ENOENT') && attempt === 0) continue;
      throw failedPrecondition(`CNI config ${file}: ${(e as Error).message}`, e);
    }
    return parseCniConfig(text, file);
  }
}
