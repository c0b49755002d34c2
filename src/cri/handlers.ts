// The RPCs Skiff serves, by their CRI (or admin) name. An RPC missing here answers UNIMPLEMENTED, naming itself.
import type { StreamHandler, UnaryHandler } from './instrument.js';
import type { Services } from './services.js';
import { version } from './runtime/version.js';
import { status } from './runtime/status.js';
import { runtimeConfig } from './runtime/runtime-config.js';
import { updateRuntimeConfig } from './runtime/update-runtime-config.js';
import { pullImage } from './image/pull-image.js';
import { imageStatus } from './image/image-status.js';
import { listImages, streamImages } from './image/list-images.js';
import { removeImage } from './image/remove-image.js';
import { imageFsInfo } from './image/image-fs-info.js';
import { importImages } from './admin/import-images.js';
import { runPodSandbox } from './runtime/run-pod-sandbox.js';
import { stopPodSandbox } from './runtime/stop-pod-sandbox.js';
import { removePodSandbox } from './runtime/remove-pod-sandbox.js';
import { podSandboxStatus } from './runtime/pod-sandbox-status.js';
import { listPodSandbox, streamPodSandboxes } from './runtime/list-pod-sandbox.js';
import { updatePodSandboxResources } from './runtime/update-pod-sandbox-resources.js';
import { createContainer } from './runtime/create-container.js';
import { startContainer } from './runtime/start-container.js';
import { stopContainer } from './runtime/stop-container.js';
import { removeContainer } from './runtime/remove-container.js';
import { listContainers, streamContainers } from './runtime/list-containers.js';
import { containerStatus } from './runtime/container-status.js';
import { reopenContainerLog } from './runtime/reopen-container-log.js';
import { execSync } from './runtime/exec-sync.js';
import { attach, exec, portForward } from './runtime/streaming.js';
import { updateContainerResources } from './runtime/update-container-resources.js';
import { getContainerEvents } from './runtime/get-container-events.js';
import { containerStats, listContainerStats, streamContainerStats } from './runtime/container-stats.js';
import { listPodSandboxStats, podSandboxStats, streamPodSandboxStats } from './runtime/pod-sandbox-stats.js';
import { listMetricDescriptors, listPodSandboxMetrics, streamPodSandboxMetrics } from './runtime/pod-sandbox-metrics.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type AnyUnary = UnaryHandler<any, any>;
export type AnyStream = StreamHandler<any, any>;

export interface HandlerTable {
  readonly RuntimeService: Readonly<Record<string, AnyUnary | AnyStream>>;
  readonly ImageService: Readonly<Record<string, AnyUnary | AnyStream>>;
  /** Skiff's own API for its command line (proto/skiff/v1/admin.proto). */
  readonly Admin: Readonly<Record<string, AnyUnary | AnyStream>>;
}

export function handlers(s: Services): HandlerTable {
  return {
    RuntimeService: {
      Version: version(s),
      Status: status(s),
      RuntimeConfig: runtimeConfig(s),
      UpdateRuntimeConfig: updateRuntimeConfig(s),
      RunPodSandbox: runPodSandbox(s),
      StopPodSandbox: stopPodSandbox(s),
      RemovePodSandbox: removePodSandbox(s),
      PodSandboxStatus: podSandboxStatus(s),
      ListPodSandbox: listPodSandbox(s),
      StreamPodSandboxes: streamPodSandboxes(s),
      UpdatePodSandboxResources: updatePodSandboxResources(s),
      CreateContainer: createContainer(s),
      StartContainer: startContainer(s),
      StopContainer: stopContainer(s),
      RemoveContainer: removeContainer(s),
      ListContainers: listContainers(s),
      StreamContainers: streamContainers(s),
      ContainerStatus: containerStatus(s),
      ReopenContainerLog: reopenContainerLog(s),
      ExecSync: execSync(s),
      Exec: exec(s),
      Attach: attach(s),
      PortForward: portForward(s),
      UpdateContainerResources: updateContainerResources(s),
      GetContainerEvents: getContainerEvents(s),
      ContainerStats: containerStats(s),
      ListContainerStats: listContainerStats(s),
      StreamContainerStats: streamContainerStats(s),
      PodSandboxStats: podSandboxStats(s),
      ListPodSandboxStats: listPodSandboxStats(s),
      StreamPodSandboxStats: streamPodSandboxStats(s),
      ListMetricDescriptors: listMetricDescriptors(s),
      ListPodSandboxMetrics: listPodSandboxMetrics(s),
      StreamPodSandboxMetrics: streamPodSandboxMetrics(s),
    },
    ImageService: {
      PullImage: pullImage(s),
      ImageStatus: imageStatus(s),
      ListImages: listImages(s),
      StreamImages: streamImages(s),
      RemoveImage: removeImage(s),
      ImageFsInfo: imageFsInfo(s),
    },
    Admin: {
      ImportImages: importImages(s),
    },
  };
}
