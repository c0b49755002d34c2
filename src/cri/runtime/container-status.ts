import type { ContainerStatusRequest, ContainerStatusResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireId } from '../convert/ids.js';
import { toContainerStatus } from '../convert/container.js';

export const containerStatus =
  (s: Services): UnaryHandler<ContainerStatusRequest, ContainerStatusResponse> =>
  async (_ctx, req) => {
    const r = s.containers.get(requireId(req.containerId, 'container_id'));
    const info: Record<string, string> = req.verbose
      ? {
          info: JSON.stringify({
            pid: r.pid ?? 0,
            sandboxID: r.sandboxId,
            runtimeHandler: r.runtimeHandler ?? '',
            bundle: `${r.dir}/bundle`,
            cgroup: r.cgroupPath,
            monitorPid: r.monitorPid ?? 0,
            runtimeSpec: s.containers.spec(r.id),
          }),
        }
      : {};
    return { status: toContainerStatus(r), info };
  };
