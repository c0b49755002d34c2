// What handlers may call: the core services, built once in main.ts.
import type { RuntimeInfo } from '../core/runtime-info.js';

export interface Services {
  readonly runtime: RuntimeInfo;
}
