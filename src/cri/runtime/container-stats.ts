import type {
  ContainerStatsRequest,
  ContainerStatsResponse,
  ListContainerStatsRequest,
  ListContainerStatsResponse,
  StreamContainerStatsRequest,
  StreamContainerStatsResponse,
} from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { StreamHandler, UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';
import { toContainerStats } from '../convert/stats.js';
import type { ContainerFilter } from '../../core/container/container-service.js';

const PAGE = 100;

function filterOf(f: ListContainerStatsRequest['filter']): ContainerFilter {
  if (!f) return {};
  return {
    ...(f.id ? { idPrefix: f.id } : {}),
    ...(f.podSandboxId ? { sandboxId: f.podSandboxId } : {}),
    ...(Object.keys(f.labelSelector).length ? { labels: f.labelSelector } : {}),
  };
}

export const containerStats =
  (s: Services): UnaryHandler<ContainerStatsRequest, ContainerStatsResponse> =>
  async (_ctx, req) => ({ stats: toContainerStats(s.stats.container(requireId(req.containerId, 'container_id')), s.stats.writableMountpoint) });

export const listContainerStats =
  (s: Services): UnaryHandler<ListContainerStatsRequest, ListContainerStatsResponse> =>
  async (_ctx, req) => {
    const mp = s.stats.writableMountpoint;
    return { stats: s.stats.listContainers(filterOf(req.filter)).map((u) => toContainerStats(u, mp)) };
  };

export const streamContainerStats =
  (s: Services): StreamHandler<StreamContainerStatsRequest, StreamContainerStatsResponse> =>
  async (_ctx, req, send) => {
    const mp = s.stats.writableMountpoint;
    const all = s.stats.listContainers(filterOf(req.filter)).map((u) => toContainerStats(u, mp));
    for (let i = 0; i < all.length; i += PAGE) send({ containerStats: all.slice(i, i + PAGE) });
  };
