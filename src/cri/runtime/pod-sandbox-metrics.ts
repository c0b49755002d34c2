import type {
  ListMetricDescriptorsRequest,
  ListMetricDescriptorsResponse,
  ListPodSandboxMetricsRequest,
  ListPodSandboxMetricsResponse,
  StreamPodSandboxMetricsRequest,
  StreamPodSandboxMetricsResponse,
} from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { StreamHandler, UnaryHandler } from '../instrument.js';
import { METRIC_DESCRIPTORS } from '../../core/stats/metric-descriptors.js';
import { toMetricDescriptor, toPodSandboxMetrics } from '../convert/metrics.js';

/** A pod's metrics run to about 60 samples per container: keep a chunk well under grpc's 4 MiB. */
const PAGE = 20;

export const listMetricDescriptors =
  (_s: Services): UnaryHandler<ListMetricDescriptorsRequest, ListMetricDescriptorsResponse> =>
  async () => ({ descriptors: METRIC_DESCRIPTORS.map(toMetricDescriptor) });

export const listPodSandboxMetrics =
  (s: Services): UnaryHandler<ListPodSandboxMetricsRequest, ListPodSandboxMetricsResponse> =>
  async (ctx) => ({ podMetrics: (await s.stats.podMetrics(ctx)).map(toPodSandboxMetrics) });

export const streamPodSandboxMetrics =
  (s: Services): StreamHandler<StreamPodSandboxMetricsRequest, StreamPodSandboxMetricsResponse> =>
  async (ctx, _req, send) => {
    const all = (await s.stats.podMetrics(ctx)).map(toPodSandboxMetrics);
    for (let i = 0; i < all.length; i += PAGE) send({ podSandboxMetrics: all.slice(i, i + PAGE) });
  };
