// Errors are values with a kind. The kind decides the gRPC status at the edge (cri/status-codes.ts);
// the message is what kubelet and crictl users read; the cause keeps the low-level detail for logs.

export const ERROR_KINDS = [
  'InvalidArgument',
  'NotFound',
  'AlreadyExists',
  'FailedPrecondition',
  'ResourceExhausted',
  'PermissionDenied',
  'Unavailable',
  'DeadlineExceeded',
  'Cancelled',
  'Unimplemented',
  'Internal',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

export class SkiffError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = `SkiffError(${kind})`;
    this.kind = kind;
  }

  /** Adds context in front of the message and keeps the kind: "pulling x: <inner message>". */
  wrap(context: string): SkiffError {
    return new SkiffError(this.kind, `${context}: ${this.message}`, { cause: this });
  }
}

export function isSkiffError(e: unknown): e is SkiffError {
  return e instanceof SkiffError;
}

export function isKind(e: unknown, kind: ErrorKind): boolean {
  return e instanceof SkiffError && e.kind === kind;
}

export const invalidArgument = (msg: string, cause?: unknown) => new SkiffError('InvalidArgument', msg, { cause });
export const notFound = (msg: string, cause?: unknown) => new SkiffError('NotFound', msg, { cause });
export const alreadyExists = (msg: string, cause?: unknown) => new SkiffError('AlreadyExists', msg, { cause });
export const failedPrecondition = (msg: string, cause?: unknown) =>
  new SkiffError('FailedPrecondition', msg, { cause });
export const unavailable = (msg: string, cause?: unknown) => new SkiffError('Unavailable', msg, { cause });
export const internal = (msg: string, cause?: unknown) => new SkiffError('Internal', msg, { cause });
export const unimplemented = (msg: string) => new SkiffError('Unimplemented', msg);

/** Node system error codes that say something users can act on, mapped to a kind. */
const ERRNO_KINDS: Readonly<Record<string, ErrorKind>> = {
  ENOENT: 'NotFound',
  ENOTDIR: 'InvalidArgument',
  EEXIST: 'AlreadyExists',
  EACCES: 'PermissionDenied',
  EPERM: 'PermissionDenied',
  EINVAL: 'InvalidArgument',
  ENOSPC: 'ResourceExhausted',
  EMFILE: 'ResourceExhausted',
  ENFILE: 'ResourceExhausted',
  ENOMEM: 'ResourceExhausted',
  EBUSY: 'Unavailable',
  EAGAIN: 'Unavailable',
  ECONNREFUSED: 'Unavailable',
  ECONNRESET: 'Unavailable',
  ETIMEDOUT: 'DeadlineExceeded',
};

/**
 * Turns anything thrown into a SkiffError. A system error keeps its errno in the message and gets
 * the kind of its code; anything unknown is Internal. `context` says what we were doing.
 */
export function toSkiffError(e: unknown, context?: string): SkiffError {
  if (e instanceof SkiffError) return context ? e.wrap(context) : e;
  if (e instanceof Error && e.name === 'AbortError') {
    // Node's AbortError carries the signal's reason as its cause: our deadline or cancel error.
    if (e.cause instanceof SkiffError) return context ? e.cause.wrap(context) : e.cause;
    return new SkiffError('Cancelled', context ? `${context}: operation cancelled` : 'operation cancelled', {
      cause: e,
    });
  }
  const code = e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
  const kind: ErrorKind = (code !== undefined && ERRNO_KINDS[code]) || 'Internal';
  const msg = e instanceof Error ? e.message : String(e);
  return new SkiffError(kind, context ? `${context}: ${msg}` : msg, { cause: e });
}

/** For `catch (e)` branches that only tolerate one errno. */
export function hasErrno(e: unknown, code: string): boolean {
  return e instanceof Error && (e as NodeJS.ErrnoException).code === code;
}
