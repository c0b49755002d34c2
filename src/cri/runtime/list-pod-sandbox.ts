import type {
  ListPodSandboxRequest,
  ListPodSandboxResponse,
  StreamPodSandboxesRequest,
  StreamPodSandboxesResponse,
} from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { StreamHandler, UnaryHandler } from '../instrument.js';
import { toPodSandbox, toSandboxFilter } from '../convert/sandbox.js';

export const listPodSandbox =
  (s: Services): UnaryHandler<ListPodSandboxRequest, ListPodSandboxResponse> =>
  async (_ctx, req) => ({ items: s.sandboxes.list(toSandboxFilter(req.filter)).map(toPodSandbox) });

const PAGE = 200;

export const streamPodSandboxes =
  (s: Services): StreamHandler<StreamPodSandboxesRequest, StreamPodSandboxesResponse> =>
  async (_ctx, req, send) => {
    const all = s.sandboxes.list(toSandboxFilter(req.filter)).map(toPodSandbox);
    for (let i = 0; i < all.length; i += PAGE) send({ podSandboxes: all.slice(i, i + PAGE) });
  };
