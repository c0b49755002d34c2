import type { RemovePodSandboxRequest, RemovePodSandboxResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';

export const removePodSandbox =
  (s: Services): UnaryHandler<RemovePodSandboxRequest, RemovePodSandboxResponse> =>
  async (ctx, req) => {
    // The pod's containers go first (force), as kubelet expects of RemovePodSandbox.
    await s.sandboxes.remove(ctx, requireId(req.podSandboxId, 'pod_sandbox_id'), (pod) => s.containers.removeAllOf(ctx, pod.id));
    return {};
  };
