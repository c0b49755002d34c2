import type { RemoveContainerRequest, RemoveContainerResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';

export const removeContainer =
  (s: Services): UnaryHandler<RemoveContainerRequest, RemoveContainerResponse> =>
  async (ctx, req) => {
    await s.containers.remove(ctx, requireId(req.containerId, 'container_id'));
    return {};
  };
