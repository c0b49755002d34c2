import type { ImageFsInfoRequest, ImageFsInfoResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';
import { toFilesystemUsage } from '../convert/image.js';

export const imageFsInfo =
  (s: Services): UnaryHandler<ImageFsInfoRequest, ImageFsInfoResponse> =>
  async () => {
    // Containers' writable layers, as last scanned in the background: kubelet's ephemeral storage.
    const w = s.stats.writableLayers();
    return {
      imageFilesystems: [toFilesystemUsage(s.images.fsUsage())],
      containerFilesystems: [
        toFilesystemUsage({ timestampNs: BigInt(Date.now()) * 1_000_000n, mountpoint: s.stats.writableMountpoint, usedBytes: w.usedBytes, inodesUsed: w.inodesUsed }),
      ],
    };
  };
