import type { ImageStatusRequest, ImageStatusResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { requireImageName, toImage } from '../convert/image.js';

/** An absent image is an empty answer, not NotFound: kubelet asks before it pulls. */
export const imageStatus =
  (s: Services): UnaryHandler<ImageStatusRequest, ImageStatusResponse> =>
  async (_ctx, req) => {
    const view = s.images.find(requireImageName(req.image));
    if (!view) return { image: undefined, info: {} };
    return { image: toImage(view), info: req.verbose ? s.images.verboseInfo(view) : {} };
  };
