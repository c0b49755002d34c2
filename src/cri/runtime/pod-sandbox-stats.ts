import type {
  ListPodSandboxStatsRequest,
  ListPodSandboxStatsResponse,
  PodSandboxStatsRequest,
  PodSandboxStatsResponse,
  StreamPodSandboxStatsRequest,
  StreamPodSandboxStatsResponse,
} from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { StreamHandler, UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';
import { toPodSandboxStats } from '../convert/stats.js';
import type { SandboxFilter } from '../../core/sandbox/sandbox-service.js';

const PAGE = 50;

function filterOf(f: ListPodSandboxStatsRequest['filter']): SandboxFilter {
  if (!f) return {};
  return { ...(f.id ? { idPrefix: f.id } : {}), ...(Object.keys(f.labelSelector).length ? { labels: f.labelSelector } : {}) };
}

export const podSandboxStats =
  (s: Services): UnaryHandler<PodSandboxStatsRequest, PodSandboxStatsResponse> =>
  async (_ctx, req) => ({ stats: toPodSandboxStats(s.stats.pod(requireId(req.podSandboxId, 'pod_sandbox_id')), s.stats.writableMountpoint) });

export const listPodSandboxStats =
  (s: Services): UnaryHandler<ListPodSandboxStatsRequest, ListPodSandboxStatsResponse> =>
  async (_ctx, req) => {
    const mp = s.stats.writableMountpoint;
    return { stats: s.stats.listPods(filterOf(req.filter)).map((u) => toPodSandboxStats(u, mp)) };
  };

export const streamPodSandboxStats =
  (s: Services): StreamHandler<StreamPodSandboxStatsRequest, StreamPodSandboxStatsResponse> =>
  async (_ctx, req, send) => {
    const mp = s.stats.writableMountpoint;
    const all = s.stats.listPods(filterOf(req.filter)).map((u) => toPodSandboxStats(u, mp));
    for (let i = 0; i < all.length; i += PAGE) send({ podSandboxStats: all.slice(i, i + PAGE) });
  };
