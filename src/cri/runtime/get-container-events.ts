import { ContainerEventType, type ContainerEventResponse, type GetEventsRequest } from '../../generated/runtime/v1/api.js';
import { SkiffError } from '../../core/errors.js';
import type { LifecycleEventType } from '../../core/events.js';
import type { Services } from '../services.js';
import type { StreamHandler } from '../instrument.js';
import { toContainerStatus } from '../convert/container.js';
import { toPodSandboxStatus } from '../convert/sandbox.js';

const TYPES: Record<LifecycleEventType, ContainerEventType> = {
  created: ContainerEventType.CONTAINER_CREATED_EVENT,
  started: ContainerEventType.CONTAINER_STARTED_EVENT,
  stopped: ContainerEventType.CONTAINER_STOPPED_EVENT,
  deleted: ContainerEventType.CONTAINER_DELETED_EVENT,
};

/**
 * Streams lifecycle events until the caller goes away. Each carries the pod's status and its
 * containers' statuses as they are when the event is sent (a deleted object has none).
 */
export const getContainerEvents =
  (s: Services): StreamHandler<GetEventsRequest, ContainerEventResponse> =>
  async (ctx, _req, send) => {
    const sub = s.events.subscribe();
    const stop = () => sub.close();
    ctx.signal.addEventListener('abort', stop, { once: true });
    try {
      for (let e = await sub.next(); e; e = await sub.next()) {
        const pod = s.sandboxes.find(e.sandboxId);
        send({
          containerId: e.id,
          containerEventType: TYPES[e.type],
          createdAt: e.at,
          podSandboxStatus: pod ? toPodSandboxStatus(pod) : undefined,
          containersStatuses: s.containers.list({ sandboxId: e.sandboxId }).map(toContainerStatus),
        });
      }
      if (sub.dropped) throw new SkiffError('ResourceExhausted', `event stream dropped: ${sub.dropped}`);
    } finally {
      ctx.signal.removeEventListener('abort', stop);
      sub.close();
    }
  };
