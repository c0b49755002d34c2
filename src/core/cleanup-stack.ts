// Every side effect pushes its undo at once. On failure the undos run newest first, each with its
// own fresh deadline (the caller's signal may be the reason we are failing), failures are logged
// and the first error of the operation itself is what the caller sees.
import type { Logger } from '../log/logger.js';

export type Undo = (signal: AbortSignal) => Promise<void> | void;

interface Step {
  readonly what: string;
  readonly undo: Undo;
}

export class CleanupStack {
  private steps: Step[] = [];

  constructor(
    private readonly log: Logger,
    private readonly undoTimeoutMs = 30_000,
  ) {}

  /** `what` describes the thing the undo removes, in words, for the log: "netns pin /run/...". */
  push(what: string, undo: Undo): void {
    this.steps.push({ what, undo });
  }

  get size(): number {
    return this.steps.length;
  }

  /** The operation succeeded: what was created stays. */
  release(): void {
    this.steps = [];
  }

  /** Undoes everything pushed so far, newest first. Never throws; returns the undo failures. */
  async unwind(): Promise<Error[]> {
    const failures: Error[] = [];
    const steps = this.steps.reverse();
    this.steps = [];
    for (const step of steps) {
      const signal = AbortSignal.timeout(this.undoTimeoutMs);
      try {
        await step.undo(signal);
        this.log.debug('undid step', { step: step.what });
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        failures.push(err);
        this.log.error('undo failed; resource may be left behind', { step: step.what, error: err.message });
      }
    }
    return failures;
  }

  /**
   * Runs `fn` with this stack; if it throws, unwinds and rethrows the original error. On success the
   * steps are released.
   */
  async run<T>(fn: (stack: CleanupStack) => Promise<T>): Promise<T> {
    try {
      const result = await fn(this);
      this.release();
      return result;
    } catch (e) {
      await this.unwind();
      throw e;
    }
  }
}
