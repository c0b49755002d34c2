import type { CreateContainerRequest, CreateContainerResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { toCreateContainerInput } from '../convert/container.js';

export const createContainer =
  (s: Services): UnaryHandler<CreateContainerRequest, CreateContainerResponse> =>
  async (ctx, req) => ({ containerId: (await s.containers.create(ctx, toCreateContainerInput(req.podSandboxId, req.config))).id });
