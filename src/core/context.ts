// The operation context every async domain function takes first: who logs, when to give up.
import type { Logger } from '../log/logger.js';

export interface OpContext {
  readonly log: Logger;
  /** Aborted when the caller's deadline passes or the caller goes away. */
  readonly signal: AbortSignal;
  /** Epoch milliseconds, or undefined when the caller set no deadline. */
  readonly deadline: number | undefined;
}

/** A context for work the daemon does on its own behalf (start-up, recovery, cleanup). */
export function backgroundContext(log: Logger, timeoutMs?: number): OpContext {
  return {
    log,
    signal: timeoutMs === undefined ? new AbortController().signal : AbortSignal.timeout(timeoutMs),
    deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
  };
}
