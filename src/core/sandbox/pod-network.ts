// How the sandbox service asks for a pod's network, whichever backend provides it.
import type { OpContext } from '../context.js';
import type { NetworkReadiness } from '../runtime-info.js';
import type { PodNetworkStatus, SandboxRecord, SandboxSpec } from './types.js';

export type Undo = (what: string, fn: () => Promise<void>) => void;

export interface PodNetwork extends NetworkReadiness {
  /** Wires the pod's netns; pushes an undo for every step that must be reversed on failure. */
  attach(ctx: OpContext, pod: { id: string; netnsPath: string; spec: SandboxSpec }, undo: Undo): Promise<PodNetworkStatus>;
  /** Frees what attach made (ports, address); idempotent. */
  detach(ctx: OpContext, record: SandboxRecord): Promise<void>;
  /** After a restart: frees what belongs to pods that no longer exist. */
  reconcile(ctx: OpContext, live: readonly SandboxRecord[]): Promise<void>;
}
