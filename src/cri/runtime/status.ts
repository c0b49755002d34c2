import type { StatusRequest, StatusResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';

export const status =
  (s: Services): UnaryHandler<StatusRequest, StatusResponse> =>
  async (_ctx, req) => ({
    status: { conditions: s.runtime.conditions().map((c) => ({ ...c })) },
    info: req.verbose ? s.runtime.verboseInfo() : {},
    runtimeHandlers: s.runtime.handlerNames().map((name) => ({
      name,
      features: { recursiveReadOnlyMounts: false, userNamespaces: false },
    })),
    features: { supplementalGroupsPolicy: false, userNamespacesHostNetwork: false, mountOptions: false },
  });
