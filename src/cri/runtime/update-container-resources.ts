import type { UpdateContainerResourcesRequest, UpdateContainerResourcesResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';
import { toContainerResources } from '../convert/container.js';

/** Synchronous: the new limits are on the cgroup when this returns. */
export const updateContainerResources =
  (s: Services): UnaryHandler<UpdateContainerResourcesRequest, UpdateContainerResourcesResponse> =>
  async (ctx, req) => {
    await s.containers.updateResources(ctx, requireId(req.containerId, 'container_id'), toContainerResources(req.linux));
    return {};
  };
