// hostPort mappings and pod masquerade for the built-in bridge network. The rule text comes from
// hostport-rules.ts; this class holds the current set of pods and applies every change as ONE
// `iptables-restore --noflush` transaction (one spawn per RunPodSandbox / StopPodSandbox that has
// hostPorts, none for pods without). Changes are serialized: each transaction rebuilds the shared
// chains from the whole set, so two running at once could each drop the other's pod.
//
// Reachability: from other hosts via PREROUTING (needs net.ipv4.ip_forward=1, which Skiff never
// turns on itself: it only warns), from the node's own addresses and from 127.0.0.1 via OUTPUT.
// 127.0.0.1 needs route_localnet=1 on the bridge (a DNATed packet with a loopback source may
// otherwise not leave through it) and the localhost masquerade in the pod chain; both as CNI's
// portmap plugin does, plus the filter rule that keeps pods away from the host's loopback services.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isIPv4 } from 'node:net';
import { SkiffError, hasErrno, internal, invalidArgument } from '../core/errors.js';
import { KeyedMutex } from '../core/keyed-mutex.js';
import type { OpContext } from '../core/context.js';
import { outputExcerpt, runProcess } from '../runtime/process.js';
import {
  DEFAULT_CHAIN_PREFIX, checkChainPrefix, checkConflicts, chainNames, firewallRules, hostportRules, jumpFixes,
  jumpRemovals, jumpRules, natRules, normalizeMappings, parseIptablesSave, podChain, savedChains,
  type PodPorts, type PortMapping,
} from './hostport-rules.js';

export type { PodPorts, PortMapping, HostportProtocol } from './hostport-rules.js';

export interface HostportManagerOptions {
  readonly bridge: string;
  /** The pod subnet, IPv4 CIDR ("10.88.0.0/16"). */
  readonly subnet: string;
  /** "SKIFF" unless tests need chains of their own. */
  readonly chainPrefix?: string;
  readonly masqMark?: number;
  readonly iptablesRestore?: string;
  readonly iptablesSave?: string;
  /** Where sysctls live; tests may point it elsewhere. */
  readonly procSys?: string;
  /** Per iptables call; the caller's deadline applies too. */
  readonly timeoutMs?: number;
}

export class HostportManager {
  private readonly prefix: string;
  private readonly pods = new Map<string, PodPorts>();
  private readonly lock = new KeyedMutex<'iptables'>();

  constructor(private readonly opts: HostportManagerOptions) {
    this.prefix = opts.chainPrefix ?? DEFAULT_CHAIN_PREFIX;
    checkChainPrefix(this.prefix);
    const [net, bits] = opts.subnet.split('/');
    if (!net || !isIPv4(net) || !/^\d{1,2}$/.test(bits ?? '') || Number(bits) > 32) {
      throw invalidArgument(`hostports: subnet ${JSON.stringify(opts.subnet)} is not an IPv4 CIDR`);
    }
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(opts.bridge)) throw invalidArgument(`hostports: bad bridge name ${JSON.stringify(opts.bridge)}`);
  }

  private get ruleOptions() {
    return { chainPrefix: this.prefix, subnet: this.opts.subnet, masqMark: this.opts.masqMark };
  }

  /** The sandboxes that currently have host ports, for status and tests. */
  get current(): ReadonlyMap<string, PodPorts> {
    return this.pods;
  }

  /**
   * Daemon start-up: installs our chains with the host ports of the sandboxes that still run
   * (`pods`, from the sandbox records), removes chains of sandboxes that are gone, adds the jump
   * rules from the built-in chains where missing, sets route_localnet on the bridge and warns
   * when forwarding is off. Two spawns: iptables-save, then one iptables-restore.
   */
  async init(ctx: OpContext, pods: readonly PodPorts[] = []): Promise<void> {
    await this.lock.run('iptables', async () => {
      const next = new Map<string, PodPorts>();
      for (const p of pods) {
        try {
          const pod = { sandboxId: p.sandboxId, podIP: p.podIP, mappings: normalizeMappings(p.podIP, p.mappings) };
          checkConflicts(next.values(), pod);
          if (pod.mappings.length) next.set(pod.sandboxId, pod);
        } catch (e) {
          ctx.log.warn('hostports of a sandbox dropped at start-up', { sandbox: p.sandboxId, error: (e as Error).message });
        }
      }
      const saved = parseIptablesSave(await this.save(ctx));
      const wanted = new Set([...next.keys()].map((id) => podChain(this.prefix, id)));
      const stale = savedChains(saved, 'nat', chainNames(this.prefix).podPrefix.slice(0, -1)).filter((c) => !wanted.has(c));
      const fixes = jumpFixes(saved, jumpRules(this.prefix));
      const text = [
        '*nat',
        ...natRules([...next.values()], this.ruleOptions, stale),
        ...(fixes.get('nat') ?? []),
        'COMMIT',
        '*filter',
        ...firewallRules(this.prefix, this.opts.bridge),
        ...(fixes.get('filter') ?? []),
        'COMMIT',
        '',
      ].join('\n');
      await this.restore(ctx, text);
      this.pods.clear();
      for (const [id, pod] of next) this.pods.set(id, pod);
    });
    await this.routeLocalnet(ctx, true);
    await this.warnIfNoForwarding(ctx);
  }

  /**
   * Maps `mappings` (hostPort 0 entries are ignored) to the pod, replacing what it had. Throws
   * InvalidArgument for bad mappings and FailedPrecondition when another pod holds one of the
   * ports; nothing changes then. No spawn when the pod has and had no host ports.
   */
  async setPod(ctx: OpContext, sandboxId: string, podIP: string, mappings: readonly PortMapping[]): Promise<void> {
    const pod: PodPorts = { sandboxId, podIP, mappings: normalizeMappings(podIP, mappings) };
    if (pod.mappings.length === 0) {
      await this.removePod(ctx, sandboxId);
      return;
    }
    await this.lock.run('iptables', async () => {
      checkConflicts(this.pods.values(), pod);
      const next = new Map(this.pods).set(sandboxId, pod);
      await this.restore(ctx, hostportRules([...next.values()], this.ruleOptions));
      this.pods.set(sandboxId, pod);
    });
    // Cheap and self-healing: the bridge may have been recreated since init, resetting it.
    await this.routeLocalnet(ctx, false);
  }

  /** Removes the pod's rules and chain. Idempotent; no spawn when the pod has no host ports. */
  async removePod(ctx: OpContext, sandboxId: string): Promise<void> {
    await this.lock.run('iptables', async () => {
      if (!this.pods.has(sandboxId)) return;
      const next = new Map(this.pods);
      next.delete(sandboxId);
      await this.restore(ctx, hostportRules([...next.values()], this.ruleOptions, [podChain(this.prefix, sandboxId)]));
      this.pods.delete(sandboxId);
    });
  }

  /** Removes every chain and jump rule of ours (for tests and for a clean uninstall). */
  async uninstall(ctx: OpContext): Promise<void> {
    await this.lock.run('iptables', async () => {
      const saved = parseIptablesSave(await this.save(ctx));
      const section = (table: string) => {
        const chains = savedChains(saved, table, this.prefix);
        return [
          `*${table}`,
          ...jumpRemovals(saved, table, this.prefix),
          ...chains.map((c) => `:${c} - [0:0]`),
          ...chains.map((c) => `-X ${c}`),
          'COMMIT',
        ];
      };
      await this.restore(ctx, [...section('nat'), ...section('filter'), ''].join('\n'));
      this.pods.clear();
    });
  }

  private async save(ctx: OpContext): Promise<string> {
    const bin = this.opts.iptablesSave ?? 'iptables-save';
    const r = await this.exec(ctx, [bin]);
    if (r.code !== 0) throw internal(`${bin} failed (status ${r.code ?? r.signal}): ${outputExcerpt(r.stderr)}`);
    return r.stdout.toString('utf8');
  }

  private async restore(ctx: OpContext, text: string): Promise<void> {
    const bin = this.opts.iptablesRestore ?? 'iptables-restore';
    const r = await this.exec(ctx, [bin, '-w', '--noflush'], text);
    if (r.code === 0) return;
    const err = outputExcerpt(r.stderr);
    // "iptables-restore: line 7 failed": name the line, the message alone is useless.
    const n = /line (\d+) failed/.exec(err)?.[1];
    const line = n ? text.split('\n')[Number(n) - 1] : undefined;
    ctx.log.debug('iptables-restore input', { input: text });
    throw internal(`${bin} failed (status ${r.code ?? r.signal}): ${err}${line ? ` [${line}]` : ''}`);
  }

  private async exec(ctx: OpContext, argv: string[], stdin?: string) {
    try {
      return await runProcess(ctx, argv, { stdin, timeoutMs: this.opts.timeoutMs ?? 30_000, maxOutputBytes: 16 << 20 });
    } catch (e) {
      if (e instanceof SkiffError && e.kind === 'Unavailable') throw e.wrap('hostports need iptables (Debian: apt-get install iptables)');
      throw e;
    }
  }

  private async routeLocalnet(ctx: OpContext, bridgeMayBeMissing: boolean): Promise<void> {
    const path = join(this.opts.procSys ?? '/proc/sys', 'net/ipv4/conf', this.opts.bridge, 'route_localnet');
    try {
      await writeFile(path, '1');
    } catch (e) {
      // At init the bridge may not exist yet; setPod sets it again once a pod is attached.
      if (bridgeMayBeMissing && hasErrno(e, 'ENOENT')) {
        ctx.log.debug('bridge not there yet: route_localnet is set with the first hostPort', { path });
      } else {
        ctx.log.warn('could not enable route_localnet on the bridge: hostPorts will not answer on 127.0.0.1', {
          path,
          error: (e as Error).message,
        });
      }
    }
  }

  private async warnIfNoForwarding(ctx: OpContext): Promise<void> {
    const path = join(this.opts.procSys ?? '/proc/sys', 'net/ipv4/ip_forward');
    const value = await readFile(path, 'utf8').then((t) => t.trim(), () => '?');
    if (value === '0') {
      ctx.log.warn(
        'net.ipv4.ip_forward is 0: pods cannot reach other hosts and hostPorts answer only on this node; ' +
          'Skiff leaves enabling it to the administrator (sysctl -w net.ipv4.ip_forward=1)',
      );
    }
  }
}
