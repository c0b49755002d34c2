import type { StartContainerRequest, StartContainerResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';

export const startContainer =
  (s: Services): UnaryHandler<StartContainerRequest, StartContainerResponse> =>
  async (ctx, req) => {
    await s.containers.start(ctx, requireId(req.containerId, 'container_id'));
    return {};
  };
