// One-shot tokens for the streaming URLs, as kubelet's request cache has them: a token is good
// for one connection within a minute of the RPC that made it, and at most 1000 wait at once.
import { randomBytes } from 'node:crypto';
import { SkiffError } from '../core/errors.js';

export const TOKEN_TTL_MS = 60_000;
export const MAX_IN_FLIGHT = 1000;

export class TokenCache<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();

  constructor(
    private readonly ttlMs = TOKEN_TTL_MS,
    private readonly max = MAX_IN_FLIGHT,
    private readonly now: () => number = Date.now,
  ) {}

  insert(value: T): string {
    this.evictExpired();
    if (this.entries.size >= this.max) {
      throw new SkiffError('ResourceExhausted', `too many streaming requests in flight (${this.max}); try again`);
    }
    // 128 random bits in the URL: the token is the only credential the stream server asks for.
    const token = randomBytes(16).toString('base64url');
    this.entries.set(token, { value, expires: this.now() + this.ttlMs });
    return token;
  }

  /** The value, once: a second call, or one after the token expired, finds nothing. */
  consume(token: string): T | undefined {
    const e = this.entries.get(token);
    if (!e) return undefined;
    this.entries.delete(token);
    return e.expires > this.now() ? e.value : undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  private evictExpired(): void {
    const now = this.now();
    // Insertion order is expiry order: stop at the first live one.
    for (const [token, e] of this.entries) {
      if (e.expires > now) break;
      this.entries.delete(token);
    }
  }
}
