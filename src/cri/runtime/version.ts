import type { VersionRequest, VersionResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';

export const version =
  (s: Services): UnaryHandler<VersionRequest, VersionResponse> =>
  async () =>
    s.runtime.version();
