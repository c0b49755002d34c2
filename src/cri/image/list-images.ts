import type {
  ListImagesRequest,
  ListImagesResponse,
  StreamImagesRequest,
  StreamImagesResponse,
} from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { StreamHandler, UnaryHandler } from '../instrument.js';
import { toImage } from '../convert/image.js';

export const listImages =
  (s: Services): UnaryHandler<ListImagesRequest, ListImagesResponse> =>
  async (_ctx, req) => ({ images: s.images.list(req.filter?.image?.image || undefined).map(toImage) });

/** Images a message, in pages, so a node with thousands of images stays under message limits. */
const PAGE = 200;

export const streamImages =
  (s: Services): StreamHandler<StreamImagesRequest, StreamImagesResponse> =>
  async (_ctx, req, send) => {
    const images = s.images.list(req.filter?.image?.image || undefined).map(toImage);
    for (let i = 0; i < images.length; i += PAGE) send({ images: images.slice(i, i + PAGE) });
  };
