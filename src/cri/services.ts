// What handlers may call: the core services, built once in main.ts.
import type { RuntimeInfo } from '../core/runtime-info.js';
import type { ImageService } from '../core/image/image-service.js';
import type { SandboxService } from '../core/sandbox/sandbox-service.js';
import type { ContainerService } from '../core/container/container-service.js';
import type { EventBus } from '../core/events.js';
import type { StatsService } from '../core/stats/stats-service.js';
import type { StreamService } from '../core/streaming/stream-service.js';

export interface Services {
  readonly runtime: RuntimeInfo;
  readonly images: ImageService;
  readonly sandboxes: SandboxService;
  readonly containers: ContainerService;
  readonly events: EventBus;
  readonly stats: StatsService;
  readonly streams: StreamService;
}
