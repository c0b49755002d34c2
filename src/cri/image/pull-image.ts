import type { PullImageRequest, PullImageResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireImageName, toPullAuth } from '../convert/image.js';

export const pullImage =
  (s: Services): UnaryHandler<PullImageRequest, PullImageResponse> =>
  async (ctx, req) => {
    const view = await s.images.pull(ctx, requireImageName(req.image), toPullAuth(req.auth));
    return { imageRef: view.record.id };
  };
