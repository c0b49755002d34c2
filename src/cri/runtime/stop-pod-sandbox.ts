import type { StopPodSandboxRequest, StopPodSandboxResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';

export const stopPodSandbox =
  (s: Services): UnaryHandler<StopPodSandboxRequest, StopPodSandboxResponse> =>
  async (ctx, req) => {
    await s.sandboxes.stop(ctx, requireId(req.podSandboxId, 'pod_sandbox_id'));
    return {};
  };
