import type { RunPodSandboxRequest, RunPodSandboxResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { toSandboxSpec } from '../convert/sandbox.js';

export const runPodSandbox =
  (s: Services): UnaryHandler<RunPodSandboxRequest, RunPodSandboxResponse> =>
  async (ctx, req) => ({ podSandboxId: (await s.sandboxes.run(ctx, toSandboxSpec(req.config, req.runtimeHandler))).id });
