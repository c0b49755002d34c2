// Branded id types: a SandboxId cannot be passed where a ContainerId is expected, and every id
// that enters from outside goes through a parser that says what is wrong with it.
import { randomBytes } from 'node:crypto';
import { invalidArgument } from './errors.js';

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type SandboxId = Brand<string, 'SandboxId'>;
export type ContainerId = Brand<string, 'ContainerId'>;
export type Digest = Brand<string, 'Digest'>;
export type RequestId = Brand<string, 'RequestId'>;

const HEX64 = /^[0-9a-f]{64}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** 64 hex characters, as containerd and CRI-O ids look, so tools that truncate to 13 still work. */
export function newObjectId(): string {
  return randomBytes(32).toString('hex');
}

export const newSandboxId = () => newObjectId() as SandboxId;
export const newContainerId = () => newObjectId() as ContainerId;

let requestCounter = 0;
/** Short and unique within one daemon run: enough to tie the log lines of one call together. */
export function newRequestId(): RequestId {
  requestCounter = (requestCounter + 1) % 0x100000000;
  return `${process.pid.toString(36)}-${requestCounter.toString(36)}` as RequestId;
}

export function isFullId(s: string): boolean {
  return HEX64.test(s);
}

export function parseDigest(s: string): Digest {
  if (!DIGEST.test(s)) throw invalidArgument(`invalid digest ${JSON.stringify(s)}: want sha256:<64 hex digits>`);
  return s as Digest;
}

export function isDigest(s: string): s is Digest {
  return DIGEST.test(s);
}
