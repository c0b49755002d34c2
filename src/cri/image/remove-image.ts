import type { RemoveImageRequest, RemoveImageResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireImageName } from '../convert/image.js';

export const removeImage =
  (s: Services): UnaryHandler<RemoveImageRequest, RemoveImageResponse> =>
  async (ctx, req) => {
    await s.images.remove(ctx, requireImageName(req.image));
    return {};
  };
