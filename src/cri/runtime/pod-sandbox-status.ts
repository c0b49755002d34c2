import type { PodSandboxStatusRequest, PodSandboxStatusResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';
import { sandboxInfo, toPodSandboxStatus } from '../convert/sandbox.js';

export const podSandboxStatus =
  (s: Services): UnaryHandler<PodSandboxStatusRequest, PodSandboxStatusResponse> =>
  async (_ctx, req) => {
    const r = s.sandboxes.get(requireId(req.podSandboxId, 'pod_sandbox_id'));
    return {
      status: toPodSandboxStatus(r),
      info: req.verbose ? sandboxInfo(r) : {},
      containersStatuses: [],
      timestamp: BigInt(Date.now()) * 1_000_000n,
    };
  };
