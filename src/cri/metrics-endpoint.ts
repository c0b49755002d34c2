// skiffd's own Prometheus endpoint (config `metrics:`, off by default): RPC latency by method and
// gRPC code, pods and containers by state, bytes of image layers pulled, and the process's memory
// and cpu. Plain HTTP on the configured IP and port; GET /metrics only. Container resource usage
// is not here: kubelet serves it from the CRI (ListPodSandboxMetrics).
import { createServer, type Server } from 'node:http';
import { parseListenAddress } from '../config/metrics.js';
import { failedPrecondition, invalidArgument } from '../core/errors.js';
import type { ContainerService } from '../core/container/container-service.js';
import type { ImageService } from '../core/image/image-service.js';
import type { SandboxService } from '../core/sandbox/sandbox-service.js';
import type { CallObserver } from './instrument.js';
import type { Logger } from '../log/logger.js';
import { CollectedMetric, EXPOSITION_CONTENT_TYPE, Histogram, renderMetrics, type Collector, type Sample } from '../util/prometheus.js';

/** From a quarter of a millisecond (List calls) to two minutes (a large pull). */
const RPC_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export interface MetricsSources {
  readonly sandboxes: Pick<SandboxService, 'list'>;
  readonly containers: Pick<ContainerService, 'list'>;
  readonly images: Pick<ImageService, 'pulledLayerBytes'>;
}

function countBy<T>(items: readonly T[], key: (t: T) => string, all: readonly string[]): Sample[] {
  const n = new Map<string, number>(all.map((k) => [k, 0]));
  for (const i of items) n.set(key(i), (n.get(key(i)) ?? 0) + 1);
  return [...n].map(([state, value]) => ({ labels: { state }, value }));
}

export class DaemonMetrics {
  private readonly rpc = new Histogram(
    'skiff_grpc_request_duration_seconds',
    'Time from receiving a CRI call to its answer (streams: to their end), by RPC and gRPC status code.',
    ['method', 'code'],
    RPC_BUCKETS,
  );
  private readonly collectors: Collector[];
  private server: Server | undefined;
  /** Set once the services exist; until then their metrics have no samples. */
  private sources: MetricsSources | undefined;

  constructor(startedAtSeconds = Date.now() / 1000) {
    const from = <T>(f: (s: MetricsSources) => T[]) => () => (this.sources ? f(this.sources) : []);
    this.collectors = [
      this.rpc,
      new CollectedMetric('skiff_pods', 'Pod sandboxes by state.', 'gauge', from((s) => countBy(s.sandboxes.list(), (p) => p.state, ['ready', 'notready']))),
      new CollectedMetric('skiff_containers', 'Containers by state.', 'gauge', from((s) =>
        countBy(s.containers.list(), (c) => c.state, ['created', 'running', 'exited']),
      )),
      new CollectedMetric('skiff_image_pull_bytes_total', 'Bytes of image layers downloaded by successful pulls.', 'counter', from((s) => [
        { labels: {}, value: s.images.pulledLayerBytes },
      ])),
      new CollectedMetric('process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', () => [{ labels: {}, value: process.memoryUsage.rss() }]),
      new CollectedMetric('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', 'counter', () => {
        const u = process.cpuUsage();
        return [{ labels: {}, value: (u.user + u.system) / 1e6 }];
      }),
      new CollectedMetric('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', 'gauge', () => [
        { labels: {}, value: Math.floor(startedAtSeconds) },
      ]),
    ];
  }

  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** For the CRI edge (EdgeDeps.observe). */
  readonly observe: CallObserver = (rpc, code, seconds) => this.rpc.observe([rpc, code], seconds);

  render(): string {
    return renderMetrics(this.collectors);
  }

  /** Serves GET /metrics on `listen` ("ip:port"); FailedPrecondition when the address is taken. */
  async listen(listen: string, log: Logger): Promise<void> {
    const addr = parseListenAddress(listen);
    if (typeof addr === 'string') throw invalidArgument(`metrics.listen ${addr}`);
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: skiffd serves /metrics\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      let body: string;
      try {
        body = this.render();
      } catch (e) {
        log.error('rendering metrics failed', { error: (e as Error).message });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('rendering metrics failed\n');
        return;
      }
      res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(failedPrecondition(`cannot serve metrics on ${listen}: ${e.code ?? e.message}`, e)),
      );
      server.listen(addr.port, addr.host, () => resolve());
    });
    server.on('error', (e) => log.error('metrics server error', { error: e.message }));
    this.server = server;
    log.info('serving metrics', { url: `http://${listen}/metrics` });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
