// Lifecycle events of containers and pod sandboxes, for GetContainerEvents. Publishing never
// waits: each subscriber has a bounded queue, and one that falls behind is dropped (told why)
// rather than slowing the runtime down.
import type { Logger } from '../log/logger.js';

export type LifecycleEventType = 'created' | 'started' | 'stopped' | 'deleted';

export interface LifecycleEvent {
  readonly type: LifecycleEventType;
  /** The container's id, or the sandbox's for sandbox events (as containerd sends them). */
  readonly id: string;
  readonly sandboxId: string;
  /** Nanoseconds since the epoch. */
  readonly at: bigint;
}

export interface Subscription {
  /** Resolves with the next event, or undefined once the subscription ended. */
  next(): Promise<LifecycleEvent | undefined>;
  /** Why the subscription was dropped, if it was. */
  readonly dropped: string | undefined;
  close(): void;
}

class Queue implements Subscription {
  private readonly items: LifecycleEvent[] = [];
  private waiter: ((e: LifecycleEvent | undefined) => void) | undefined;
  private closed = false;
  dropped: string | undefined;

  constructor(
    private readonly max: number,
    private readonly onClose: (q: Queue) => void,
  ) {}

  push(e: LifecycleEvent): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(e);
      return;
    }
    if (this.items.length >= this.max) {
      this.dropped = `subscriber fell ${this.max} events behind`;
      this.close();
      return;
    }
    this.items.push(e);
  }

  next(): Promise<LifecycleEvent | undefined> {
    const e = this.items.shift();
    if (e || this.closed) return Promise.resolve(e);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiter?.(undefined);
    this.waiter = undefined;
    this.onClose(this);
  }
}

export class EventBus {
  private readonly subscribers = new Set<Queue>();

  constructor(
    private readonly log: Logger,
    private readonly maxQueued = 1000,
  ) {}

  subscribe(): Subscription {
    const q = new Queue(this.maxQueued, (closed) => this.subscribers.delete(closed));
    this.subscribers.add(q);
    return q;
  }

  publish(type: LifecycleEventType, id: string, sandboxId: string): void {
    const e: LifecycleEvent = { type, id, sandboxId, at: BigInt(Date.now()) * 1_000_000n };
    for (const q of [...this.subscribers]) {
      q.push(e);
      if (q.dropped) this.log.warn('event subscriber dropped', { reason: q.dropped });
    }
  }

  /** Ends every subscription (daemon shutdown: event streams must not hold the drain up). */
  closeAll(): void {
    for (const q of [...this.subscribers]) q.close();
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }
}
