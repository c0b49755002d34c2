import type { StopContainerRequest, StopContainerResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';

export const stopContainer =
  (s: Services): UnaryHandler<StopContainerRequest, StopContainerResponse> =>
  async (ctx, req) => {
    await s.containers.stop(ctx, requireId(req.containerId, 'container_id'), Math.max(0, Number(req.timeout)));
    return {};
  };
