// The operation context every async domain function takes first: who logs, when to give up.
import type { Logger } from '../log/logger.js';
import { isKind, SkiffError } from './errors.js';

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

/**
 * The error for work stopped by its caller's signal, with `what` in front: the reason itself when
 * it is ours (the CRI edge aborts with DeadlineExceeded or Cancelled), DeadlineExceeded for an
 * AbortSignal.timeout, Cancelled otherwise.
 */
export function abortError(signal: AbortSignal, what: string): SkiffError {
  const reason: unknown = signal.reason;
  if (reason instanceof SkiffError) return reason.wrap(what);
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new SkiffError('DeadlineExceeded', `${what}: deadline exceeded`, { cause: reason });
  }
  return new SkiffError('Cancelled', `${what}: cancelled`, { cause: reason });
}

/** Waits for a shared promise, but stops waiting (not the shared work) when this caller's signal fires. */
export async function abortable<T>(signal: AbortSignal, p: Promise<T>, what: string): Promise<T> {
  if (signal.aborted) throw abortError(signal, what);
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export function isCancellation(e: unknown): boolean {
  return isKind(e, 'Cancelled') || isKind(e, 'DeadlineExceeded');
}
