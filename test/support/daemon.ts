// Starts a real skiffd (the built bin/skiffd) on temp dirs and gives tests gRPC clients for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ImageServiceClient, RuntimeServiceClient } from '../../src/generated/runtime/v1/api.js';
import { removeHostState, uniqueNetwork } from './host-state.js';

export const SKIFFD = fileURLToPath(new URL('../../../bin/skiffd', import.meta.url));

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs skiffd to completion (for flag and config errors) with a time limit; `prefix` is a command
 * that runs it (e.g. unshare and its options).
 */
export function runSkiffd(args: string[], timeoutMs = 10_000, prefix: readonly string[] = []): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const argv = [...prefix, process.execPath, SKIFFD, ...args];
    const child = spawn(argv[0] ?? process.execPath, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`skiffd ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export class TestDaemon {
  proc: ChildProcess | undefined;
  log = '';
  private runtimeClient: RuntimeServiceClient | undefined;
  private imageClient: ImageServiceClient | undefined;

  private constructor(
    readonly dir: string,
    readonly root: string,
    readonly state: string,
    readonly socket: string,
    readonly configPath: string,
  ) {}

  /** This daemon's own bridge, subnet and iptables chains: tests never touch skiff0 or SKIFF-*. */
  readonly net = uniqueNetwork();

  /**
   * Creates the temp dirs and writes the config: `configYaml` plus a `network:` section of this
   * daemon's own (unless `configYaml` has one). Does not start the daemon.
   */
  static async create(configYaml = ''): Promise<TestDaemon> {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-test-'));
    const d = new TestDaemon(dir, join(dir, 'root'), join(dir, 'state'), join(dir, 'state', 'skiff.sock'), join(dir, 'config.yaml'));
    const network = /^network:/m.test(configYaml)
      ? ''
      : `network:\n  bridge: ${d.net.bridge}\n  subnet: ${d.net.subnet}\n  chainPrefix: ${d.net.chainPrefix}\n`;
    await writeFile(d.configPath, configYaml + network);
    return d;
  }

  args(extra: string[] = []): string[] {
    return ['--config', this.configPath, '--root', this.root, '--state', this.state, '--log-level', 'debug', ...extra];
  }

  /**
   * Starts skiffd and resolves once it logs that it serves the socket. `inheritedFd`: skiffd also
   * gets this fd, a pipe without close-on-exec, as a careless parent might leave it one (Node
   * itself marks low inherited fds close-on-exec, not high ones).
   */
  async start(extra: string[] = [], opts: { inheritedFd?: number } = {}): Promise<void> {
    // SKIFF_NODE_ARGS (e.g. "--cpu-prof") reaches the daemon's node for profiling benchmarks.
    const nodeArgs = (process.env.SKIFF_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const stdio: ('ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe'];
    if (opts.inheritedFd !== undefined) stdio[opts.inheritedFd] = 'pipe';
    for (let i = 3; i < stdio.length; i++) stdio[i] ??= 'ignore';
    const child = spawn(process.execPath, [...nodeArgs, SKIFFD, ...this.args(extra)], { stdio });
    this.proc = child;
    const from = this.log.length;
    const append = (b: Buffer) => (this.log += b.toString());
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`skiffd did not start; log:\n${this.log}`)), 15_000);
      const check = () => {
        if (this.log.indexOf('skiffd started', from) >= 0) {
          clearTimeout(timer);
          child.stderr?.off('data', check);
          resolve();
        }
      };
      child.stderr?.on('data', check);
      // 'close' (not 'exit'): it comes after the output is read, so the log below is complete.
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`skiffd exited (status ${code}, signal ${signal}) during start-up; log:\n${this.log}`));
      });
    });
  }

  get runtime(): RuntimeServiceClient {
    this.runtimeClient ??= new RuntimeServiceClient(`unix://${this.socket}`, credentials.createInsecure());
    return this.runtimeClient;
  }

  get images(): ImageServiceClient {
    this.imageClient ??= new ImageServiceClient(`unix://${this.socket}`, credentials.createInsecure());
    return this.imageClient;
  }

  closeClients(): void {
    this.runtimeClient?.close();
    this.imageClient?.close();
    this.runtimeClient = undefined;
    this.imageClient = undefined;
  }

  /** Sends `signal` and waits for the exit status. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.closeClients();
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) =>
      p.once('exit', (code, sig) => {
        if (code === null && sig !== signal) this.log += `\n[test] skiffd died of ${sig}\n`;
        resolve(code);
      }),
    );
    p.kill(signal);
    return exited;
  }

  /** Kills the daemon and removes what it made on the host: pods, bridge, iptables chains, dirs. */
  async cleanup(): Promise<void> {
    await this.stop('SIGKILL');
    await removeHostState(this);
    // A monitor of an exec session may still be writing its exit file as the daemon dies.
    await rm(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

/** Promisifies one unary call of a generated grpc-js client. */
export function call<Req, Res>(
  client: object,
  method: string,
  req: Req,
  timeoutMs = 10_000,
): Promise<Res> {
  const fn = (client as Record<string, unknown>)[method] as (
    r: Req,
    md: unknown,
    opts: { deadline: Date },
    cb: (e: ServiceError | null, res: Res) => void,
  ) => void;
  return new Promise((resolve, reject) =>
    fn.call(client, req, new Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (e, res) =>
      e ? reject(e) : resolve(res),
    ),
  );
}

