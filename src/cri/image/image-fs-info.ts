import type { ImageFsInfoRequest, ImageFsInfoResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { toFilesystemUsage } from '../convert/image.js';

export const imageFsInfo =
  (s: Services): UnaryHandler<ImageFsInfoRequest, ImageFsInfoResponse> =>
  async () => ({ imageFilesystems: [toFilesystemUsage(s.images.fsUsage())], containerFilesystems: [] });
