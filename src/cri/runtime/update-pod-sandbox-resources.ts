import type { UpdatePodSandboxResourcesRequest, UpdatePodSandboxResourcesResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';
import { mergeResources, toPodResources } from '../convert/sandbox.js';

export const updatePodSandboxResources =
  (s: Services): UnaryHandler<UpdatePodSandboxResourcesRequest, UpdatePodSandboxResourcesResponse> =>
  async (ctx, req) => {
    const res = mergeResources(toPodResources(req.overhead), toPodResources(req.resources));
    await s.sandboxes.updateResources(ctx, requireId(req.podSandboxId, 'pod_sandbox_id'), res);
    return {};
  };
