// Composition root: flags → config → logger → lock → host probe → services → gRPC; signals.
// Nothing else wires modules together, so every dependency is visible here.
import { readFile, rm } from 'node:fs/promises';
import { ConfigError } from './config/schema.js';
import { loadConfig } from './config/load.js';
import { fatal, parseCli, UsageError, USAGE } from './cli.js';
import { createLogger } from './log/logger.js';
import { realSys } from './sys/index.js';
import { markCloseOnExec } from './sys/fd-calls.js';
import { Paths } from './state/paths.js';
import { acquireDaemonLock, type DaemonLock } from './state/daemon-lock.js';
import { privateDirs, securePrivateDirs } from './state/private-dirs.js';
import { RecordStore } from './state/record-store.js';
import { HelperRunner } from './runtime/helper-exec.js';
import { probeHost } from './runtime/host-info.js';
import { createInitMountNs } from './namespaces/init-mount-ns.js';
import { backgroundContext } from './core/context.js';
import { isRuntimeSettings, RuntimeInfo } from './core/runtime-info.js';
import { isSkiffError } from './core/errors.js';
import { EventBus } from './core/events.js';
import { StatsService } from './core/stats/stats-service.js';
import { StreamService } from './core/streaming/stream-service.js';
import { StreamingServer } from './streaming/server.js';

/** How long a client has to open its streams after connecting (kubelet's default). */
const STREAM_CREATION_TIMEOUT_MS = 30_000;
import { LayerUsageScanner } from './storage/layer-usage.js';
import { openImageService } from './compose.js';
import { openContainerService, openSandboxService } from './compose-sandboxes.js';
import { imagesCommand } from './images-cli.js';
import { ReadinessGate } from './cri/instrument.js';
import { clearSocket, CriServer } from './cri/server.js';
import { handlers } from './cri/handlers.js';
import { DaemonMetrics } from './cri/metrics-endpoint.js';

async function packageVersion(): Promise<string> {
  const pkg: unknown = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && typeof (pkg as { version?: unknown }).version === 'string'
    ? (pkg as { version: string }).version
    : '0.0.0';
}

/** Catches SIGTERM and SIGINT from the moment it exists; `next()` resolves with the first one. */
class SignalLatch {
  private readonly first: Promise<NodeJS.Signals>;
  private readonly handler: (s: NodeJS.Signals) => void;

  constructor() {
    let resolve!: (s: NodeJS.Signals) => void;
    this.first = new Promise((r) => (resolve = r));
    // Later signals are ignored: one shutdown at a time.
    this.handler = (s) => resolve(s);
    process.on('SIGTERM', this.handler);
    process.on('SIGINT', this.handler);
  }

  next(): Promise<NodeJS.Signals> {
    return this.first;
  }

  dispose(): void {
    process.off('SIGTERM', this.handler);
    process.off('SIGINT', this.handler);
  }
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'images') return imagesCommand(argv.slice(1));
  let cli;
  try {
    cli = parseCli(argv);
  } catch (e) {
    if (e instanceof UsageError) return fatal(`${e.message} (see skiffd --help)`, 2);
    throw e;
  }
  const runtimeVersion = await packageVersion();
  if (cli.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (cli.version) {
    process.stdout.write(`skiffd ${runtimeVersion}\n`);
    return 0;
  }

  let loaded;
  try {
    loaded = await loadConfig(cli.configPath, cli.overrides);
  } catch (e) {
    if (e instanceof ConfigError) return fatal(`invalid configuration: ${e.message}`, 2);
    throw e;
  }
  const { config } = loaded;
  // Before any helper runs: no fd inherited from whoever started us reaches one (we hand helpers
  // what they need explicitly, as dup2s at the spawn).
  markCloseOnExec(3);
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  const paths = new Paths({ root: config.root, state: config.state });
  const socket = config.socket || paths.defaultSocket;

  const sys = realSys();
  let lock: DaemonLock | undefined;
  const gate = new ReadinessGate();
  let server: CriServer | undefined;
  let events: EventBus | undefined;
  let streaming: StreamingServer | undefined;
  let metrics: DaemonMetrics | undefined;
  // Handlers go in before anything can announce readiness: a SIGTERM that arrives during start-up
  // (or right after "skiffd started" is read) is kept and acted on once the server runs.
  const signals = new SignalLatch();
  try {
    await securePrivateDirs(privateDirs(paths), log);
    lock = acquireDaemonLock(sys, paths.lockFile);
    // Before any host state changes (bridge, iptables): a socket someone else serves stops us here,
    // and so does a metrics address that is taken.
    await clearSocket(socket);
    if (config.metrics.enabled) {
      metrics = new DaemonMetrics();
      await metrics.listen(config.metrics.listen, log);
    }

    const ctx = backgroundContext(log, 30_000);
    // Every helper runs from a sealed in-memory copy made now (runtime/helper-images.ts).
    const helpers = HelperRunner.sealed();
    const host = await probeHost(ctx, helpers);
    // Pod inits live in an empty mount namespace made once, here, and held by this fd.
    const initMountNs = await createInitMountNs(ctx, helpers);
    const runtime = new RuntimeInfo(
      config,
      host,
      runtimeVersion,
      new RecordStore(paths.runtimeRecords, 'runtime-settings', 1, isRuntimeSettings),
    );
    await runtime.load();

    const { images, layers } = await openImageService(config, paths, log, sys);
    events = new EventBus(log);
    const { sandboxes, cgroups } = await openSandboxService(ctx, config, paths, log, helpers, runtime, events, initMountNs);
    // Its exit watcher outlives start-up: it gets a context without a deadline.
    const containers = await openContainerService(backgroundContext(log), config, paths, helpers, {
      sandboxes,
      images,
      layers,
      cgroups,
      events,
    });

    // Writable-layer usage for stats is measured in the background, never on a request.
    const layerUsage = new LayerUsageScanner({ onError: (id, dir, e) => log.debug('layer usage scan failed', { container: id, dir, error: String(e) }) });
    layerUsage.start(10_000);
    const stats = new StatsService(cgroups, containers, sandboxes, layerUsage, paths.writableDir);

    const sc = config.streaming;
    streaming = new StreamingServer({
      address: sc.address,
      port: sc.port,
      ...(sc.tlsCertFile ? { tls: { certFile: sc.tlsCertFile, keyFile: sc.tlsKeyFile } } : {}),
      idleTimeoutMs: sc.idleTimeoutSeconds * 1000,
      creationTimeoutMs: STREAM_CREATION_TIMEOUT_MS,
      log: log.child({ component: 'streaming' }),
    });
    await streaming.start();
    const streams = new StreamService({ server: streaming, containers, sandboxes, log });

    metrics?.attach({ sandboxes, containers, images });
    server = new CriServer(
      { log, gate, ...(metrics ? { observe: metrics.observe } : {}) },
      handlers({ runtime, images, sandboxes, containers, events, stats, streams }),
    );
    await server.listen(socket);
    gate.open();
    log.info('skiffd started', {
      version: runtimeVersion,
      pid: process.pid,
      config: loaded.source,
      root: config.root,
      state: config.state,
      socket,
      cgroup: host.cgroup,
    });
  } catch (e) {
    signals.dispose();
    await metrics?.close();
    lock?.release();
    if (isSkiffError(e)) return fatal(e.message, 1);
    return fatal(`start-up failed: ${(e as Error).stack ?? String(e)}`, 1);
  }

  const signal = await signals.next();
  log.info('shutting down; containers keep running', { signal });
  gate.close();
  events?.closeAll();
  try {
    await streaming?.stop();
    await server.shutdown(config.shutdownTimeoutSeconds * 1000);
    await rm(socket, { force: true });
    await metrics?.close();
  } catch (e) {
    log.error('shutdown failed', { error: (e as Error).message });
    return 1;
  } finally {
    lock.release();
  }
  log.info('skiffd stopped');
  return 0;
}
