// Callers waiting, with a deadline, for a container's exit (StopContainer's grace period). The
// exit watcher's event settles them; nothing polls.

/** setTimeout fires at once past 2^31 - 1 ms; a wait that long is as good as for ever. */
const MAX_TIMER_MS = 0x7fffffff;

export class ExitWaiters {
  private readonly waiting = new Map<string, (() => void)[]>();

  /** True once `notify(id)` comes, false after `ms`. */
  wait(id: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.min(ms, MAX_TIMER_MS));
      const list = this.waiting.get(id) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      this.waiting.set(id, list);
    });
  }

  /** The container exited: every caller waiting for it gets true. */
  notify(id: string): void {
    for (const w of this.waiting.get(id) ?? []) w();
    this.waiting.delete(id);
  }
}
