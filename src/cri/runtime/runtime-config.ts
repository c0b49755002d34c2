import { CgroupDriver, type RuntimeConfigRequest, type RuntimeConfigResponse } from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';

export const runtimeConfig =
  (s: Services): UnaryHandler<RuntimeConfigRequest, RuntimeConfigResponse> =>
  async () => ({
    linux: { cgroupDriver: s.runtime.cgroupDriver() === 'systemd' ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS },
  });
