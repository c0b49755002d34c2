// The one table from error kind to gRPC status. Everything thrown by a handler passes through
// toStatus(), so a raw ENOENT never reaches kubelet as UNKNOWN.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { toSkiffError, type ErrorKind } from '../core/errors.js';

export const STATUS_OF: Readonly<Record<ErrorKind, status>> = {
  InvalidArgument: status.INVALID_ARGUMENT,
  NotFound: status.NOT_FOUND,
  AlreadyExists: status.ALREADY_EXISTS,
  FailedPrecondition: status.FAILED_PRECONDITION,
  ResourceExhausted: status.RESOURCE_EXHAUSTED,
  PermissionDenied: status.PERMISSION_DENIED,
  Unavailable: status.UNAVAILABLE,
  DeadlineExceeded: status.DEADLINE_EXCEEDED,
  Cancelled: status.CANCELLED,
  Unimplemented: status.UNIMPLEMENTED,
  Internal: status.INTERNAL,
};

export function toStatus(e: unknown): Partial<ServiceError> & { code: status; details: string } {
  const err = toSkiffError(e);
  return { code: STATUS_OF[err.kind], details: err.message, metadata: new Metadata(), message: err.message };
}
