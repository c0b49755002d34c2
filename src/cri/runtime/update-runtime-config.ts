import type { UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';

export const updateRuntimeConfig =
  (s: Services): UnaryHandler<UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponse> =>
  async (ctx, req) => {
    await s.runtime.updatePodCidr(ctx, req.runtimeConfig?.networkConfig?.podCidr ?? '');
    return {};
  };
