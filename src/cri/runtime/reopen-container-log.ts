import type { ReopenContainerLogRequest, ReopenContainerLogResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';

export const reopenContainerLog =
  (s: Services): UnaryHandler<ReopenContainerLogRequest, ReopenContainerLogResponse> =>
  async (_ctx, req) => {
    s.containers.reopenLog(requireId(req.containerId, 'container_id'));
    return {};
  };
