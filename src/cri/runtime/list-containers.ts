import type {
  ListContainersRequest,
  ListContainersResponse,
  StreamContainersRequest,
  StreamContainersResponse,
} from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { StreamHandler, UnaryHandler } from '../instrument.js';
import { toContainer, toContainerFilter } from '../convert/container.js';

export const listContainers =
  (s: Services): UnaryHandler<ListContainersRequest, ListContainersResponse> =>
  async (_ctx, req) => ({ containers: s.containers.list(toContainerFilter(req.filter)).map(toContainer) });

const PAGE = 200;

export const streamContainers =
  (s: Services): StreamHandler<StreamContainersRequest, StreamContainersResponse> =>
  async (_ctx, req, send) => {
    const all = s.containers.list(toContainerFilter(req.filter)).map(toContainer);
    for (let i = 0; i < all.length; i += PAGE) send({ containers: all.slice(i, i + PAGE) });
  };
