import { isAbsolute } from 'node:path';
import type { ImportImagesRequest, ImportImagesResponse } from '../../generated/skiff/v1/admin.js';
import { invalidArgument } from '../../core/errors.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';

export const importImages =
  (s: Services): UnaryHandler<ImportImagesRequest, ImportImagesResponse> =>
  async (ctx, req) => {
    if (!isAbsolute(req.path)) throw invalidArgument(`path must be absolute; got ${JSON.stringify(req.path)}`);
    const views = await s.images.importArchive(ctx, req.path);
    return { images: views.map((v) => ({ id: v.record.id, repoTags: [...v.record.repoTags] })) };
  };
