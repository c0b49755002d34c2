// A container as the core knows it: what was asked, what was made, and where it is in its life.
import type { ContainerId, Digest, SandboxId } from '../ids.js';

export type ContainerState = 'created' | 'running' | 'exited';

export interface ContainerMount {
  readonly containerPath: string;
  readonly hostPath: string;
  readonly readonly: boolean;
  readonly propagation: 'private' | 'rslave' | 'rshared';
}

export interface ContainerRecord {
  readonly id: ContainerId;
  readonly sandboxId: SandboxId;
  /** The pod's RuntimeClass handler: "" for the built-in executor. */
  readonly runtimeHandler?: string;
  readonly name: string;
  readonly attempt: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** The image as the CRI request named it, and the id PullImage returned for it. */
  readonly image: string;
  readonly imageId: Digest;
  /** The repo digest (or id) kubelet shows as imageRef. */
  readonly imageRef: string;
  /** The image's top layer: its chain is the overlay's lower dirs, and GC must keep it. */
  readonly topLayer: Digest;
  readonly chainIds: readonly Digest[];
  readonly logPath: string;
  readonly tty: boolean;
  readonly stdin: boolean;
  readonly stdinOnce?: boolean;
  readonly mounts: readonly ContainerMount[];
  readonly stopSignal: { readonly name: string; readonly number: number };
  /** The CRI Signal enum key of the stop signal ("SIGNAL_SIGTERM"), for ContainerStatus. */
  readonly stopSignalKey: string;
  readonly user: { readonly uid: number; readonly gid: number; readonly groups: readonly number[] };
  readonly cgroupPath: string;
  /** <state>/containers/<id>: bundle, upper and work dirs. */
  readonly dir: string;
  readonly state: ContainerState;
  /** Nanoseconds since the epoch; 0n when not yet. */
  readonly createdAt: bigint;
  readonly startedAt: bigint;
  readonly finishedAt: bigint;
  readonly exitCode: number;
  /** Completed, Error, OOMKilled, or why the start failed. */
  readonly reason: string;
  readonly message: string;
  readonly pid?: number;
  readonly pidStartTime?: number;
  readonly monitorPid?: number;
}

export function isContainerRecord(x: unknown): x is ContainerRecord {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return (
    typeof r.id === 'string' &&
    typeof r.sandboxId === 'string' &&
    typeof r.name === 'string' &&
    typeof r.attempt === 'number' &&
    typeof r.imageId === 'string' &&
    typeof r.topLayer === 'string' &&
    Array.isArray(r.chainIds) &&
    typeof r.dir === 'string' &&
    (r.state === 'created' || r.state === 'running' || r.state === 'exited') &&
    typeof r.createdAt === 'bigint' &&
    typeof r.startedAt === 'bigint' &&
    typeof r.finishedAt === 'bigint' &&
    typeof r.exitCode === 'number' &&
    typeof r.stopSignal === 'object' &&
    typeof r.stopSignalKey === 'string' &&
    typeof r.user === 'object'
  );
}
