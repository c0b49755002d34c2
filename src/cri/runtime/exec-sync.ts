import type { ExecSyncRequest, ExecSyncResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';

export const execSync =
  (s: Services): UnaryHandler<ExecSyncRequest, ExecSyncResponse> =>
  async (ctx, req) => s.containers.exec.execSync(ctx, requireId(req.containerId, 'container_id'), req.cmd, Math.max(0, Number(req.timeout)));
