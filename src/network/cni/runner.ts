// Runs CNI plugins by the exec protocol: ADD chains the plugins of a network list in order (each
// gets the previous result), DEL runs them in reverse, CHECK and STATUS as the spec says. One
// process per plugin per call, through runProcess (argv, no shell, killed on the deadline).
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { SkiffError, internal, isSkiffError, unavailable } from '../../core/errors.js';
import type { OpContext } from '../../core/context.js';
import { outputExcerpt, runProcess } from '../../runtime/process.js';
import { compareVersions, type CniNetworkList, type CniPluginConf } from './config.js';
import {
  cniArgs, cniEnv, cniErrorKind, hasPrevResultOnDel, parseCniError, parseCniResult, pluginStdin, supportsStatus,
  type CniCommand, type CniPodArgs, type CniResult, type CniRuntimeConfig,
} from './protocol.js';

export const DEFAULT_CNI_BIN_DIRS = ['/opt/cni/bin', '/usr/lib/cni'];
const CLEANUP_TIMEOUT_MS = 30_000;

export interface CniAttachment {
  readonly containerId: string;
  /** Path of the pod's network namespace file; may be '' on DEL when it is gone. */
  readonly netns: string;
  readonly ifName: string;
  readonly args: CniPodArgs;
  readonly runtimeConfig?: CniRuntimeConfig;
}

export interface CniStatus {
  readonly ready: boolean;
  readonly message?: string;
}

export interface CniRunnerOptions {
  /** Per plugin call; the caller's deadline applies as well. */
  readonly timeoutMs?: number;
  /** Base environment for plugins; the daemon's own by default. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export class CniRunner {
  private readonly found = new Map<string, string>();
  private readonly versions = new Map<string, readonly string[]>();

  constructor(
    readonly binDirs: readonly string[] = DEFAULT_CNI_BIN_DIRS,
    private readonly opts: CniRunnerOptions = {},
  ) {}

  /** The plugin's binary: the first executable `type` in the bin dirs. */
  async findPlugin(type: string): Promise<string> {
    const known = this.found.get(type);
    if (known) return known;
    for (const dir of this.binDirs) {
      const p = join(dir, type);
      try {
        await access(p, constants.X_OK);
        this.found.set(type, p);
        return p;
      } catch {
        // Not in this dir: try the next.
      }
    }
    throw unavailable(`CNI plugin "${type}" not found in ${this.binDirs.join(', ')}`);
  }

  /** Runs one plugin; resolves with its parsed stdout (undefined when it printed nothing). */
  private async exec(
    ctx: OpContext,
    list: CniNetworkList,
    plugin: CniPluginConf,
    command: CniCommand,
    att: Partial<CniAttachment>,
    stdin: string,
  ): Promise<unknown> {
    const bin = await this.findPlugin(plugin.type);
    const who = `CNI plugin ${plugin.type} (${command}, network ${list.name})`;
    const env = cniEnv(this.opts.env ?? process.env, {
      command,
      path: this.binDirs,
      ...(att.containerId !== undefined ? { containerId: att.containerId } : {}),
      ...(att.netns !== undefined ? { netns: att.netns } : {}),
      ...(att.ifName !== undefined ? { ifName: att.ifName } : {}),
      ...(att.args !== undefined ? { args: cniArgs(att.args) } : {}),
    });
    const started = Date.now();
    let r;
    try {
      r = await runProcess(ctx, [bin], { stdin, env, timeoutMs: this.opts.timeoutMs, maxOutputBytes: 1 << 20 });
    } catch (e) {
      throw isSkiffError(e) ? e.wrap(who) : internal(`${who}: ${(e as Error).message}`, e);
    }
    ctx.log.debug('CNI plugin ran', { plugin: plugin.type, command, ms: Date.now() - started, status: r.code });
    const out = r.stdout.toString('utf8');
    if (r.code !== 0) {
      const err = parseCniError(out);
      if (err) {
        const text = `${who} failed (code ${err.code}): ${err.msg}${err.details ? `; ${err.details}` : ''}`;
        throw new SkiffError(cniErrorKind(err.code), text);
      }
      const why = outputExcerpt(r.stderr) || outputExcerpt(r.stdout) || 'no message';
      throw internal(`${who} failed (status ${r.code ?? r.signal}): ${why}`);
    }
    if (out.trim() === '') return undefined;
    try {
      return JSON.parse(out) as unknown;
    } catch {
      throw internal(`${who}: output is not JSON: ${outputExcerpt(r.stdout, 200)}`);
    }
  }

  /**
   * Attaches the pod: every plugin in order, each getting the previous result. On failure the
   * plugins are DELeted (best effort, DEL is idempotent) before the error is thrown, so a failed
   * ADD leaves nothing behind. Keep the returned `raw` result: DEL and CHECK want it.
   */
  async add(ctx: OpContext, list: CniNetworkList, att: CniAttachment): Promise<CniResult> {
    let prev: unknown;
    try {
      for (const plugin of list.plugins) {
        const stdin = pluginStdin(list, plugin, { prevResult: prev, runtimeConfig: att.runtimeConfig });
        const out = await this.exec(ctx, list, plugin, 'ADD', att, stdin);
        if (out !== undefined) prev = out;
      }
    } catch (e) {
      // A fresh deadline: the caller's may be the very reason ADD failed.
      const undo: OpContext = { log: ctx.log, signal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS), deadline: Date.now() + CLEANUP_TIMEOUT_MS };
      await this.del(undo, list, att, prev).catch((d: unknown) => {
        ctx.log.warn('CNI DEL after a failed ADD failed too', { network: list.name, error: (d as Error).message });
      });
      throw e;
    }
    if (prev === undefined) throw internal(`CNI network ${list.name}: no plugin returned a result`);
    return parseCniResult(prev, `CNI network ${list.name}`);
  }

  /**
   * Detaches the pod: every plugin in reverse order, even after one fails (each failure is logged);
   * then throws the first failure, so the caller can retry — DEL is idempotent by the spec.
   * `prevResult` is the raw ADD result when the caller kept it (CNI ≥ 0.4.0 passes it on).
   */
  async del(ctx: OpContext, list: CniNetworkList, att: CniAttachment, prevResult?: unknown): Promise<void> {
    const prev = hasPrevResultOnDel(list) ? prevResult : undefined;
    let first: unknown;
    for (const plugin of [...list.plugins].reverse()) {
      try {
        const stdin = pluginStdin(list, plugin, { prevResult: prev, runtimeConfig: att.runtimeConfig });
        await this.exec(ctx, list, plugin, 'DEL', att, stdin);
      } catch (e) {
        ctx.log.warn('CNI DEL failed', { plugin: plugin.type, network: list.name, error: (e as Error).message });
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }

  /** CHECK (CNI ≥ 0.4.0, unless the list disables it): throws when a plugin finds the pod broken. */
  async check(ctx: OpContext, list: CniNetworkList, att: CniAttachment, prevResult: unknown): Promise<void> {
    if (!hasPrevResultOnDel(list) || list.disableCheck) return;
    for (const plugin of list.plugins) {
      const stdin = pluginStdin(list, plugin, { prevResult, runtimeConfig: att.runtimeConfig });
      await this.exec(ctx, list, plugin, 'CHECK', att, stdin);
    }
  }

  /** The plugin's supported CNI versions (VERSION command), asked once per binary. */
  async pluginVersions(ctx: OpContext, list: CniNetworkList, plugin: CniPluginConf): Promise<readonly string[]> {
    const bin = await this.findPlugin(plugin.type);
    const known = this.versions.get(bin);
    if (known) return known;
    const out = await this.exec(ctx, list, plugin, 'VERSION', {}, JSON.stringify({ cniVersion: list.cniVersion }));
    const v = (out as { supportedVersions?: unknown } | undefined)?.supportedVersions;
    const versions = Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
    this.versions.set(bin, versions);
    return versions;
  }

  /**
   * Network readiness. Every plugin binary must exist; with a CNI ≥ 1.1.0 list, plugins that
   * support 1.1.0 are asked STATUS, older ones count as ready. Spawns (VERSION once per plugin,
   * STATUS each time): call it when the config changes, not per Status RPC.
   */
  async status(ctx: OpContext, list: CniNetworkList): Promise<CniStatus> {
    try {
      for (const plugin of list.plugins) {
        await this.findPlugin(plugin.type);
        if (!supportsStatus(list)) continue;
        const versions = await this.pluginVersions(ctx, list, plugin);
        if (!versions.some((v) => compareVersions(v, '1.1.0') >= 0)) continue;
        await this.exec(ctx, list, plugin, 'STATUS', {}, pluginStdin(list, plugin));
      }
      return { ready: true };
    } catch (e) {
      if (isSkiffError(e) && (e.kind === 'Cancelled' || e.kind === 'DeadlineExceeded')) throw e;
      return { ready: false, message: (e as Error).message };
    }
  }
}

