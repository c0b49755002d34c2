// Small helpers for tests that call skiffd over gRPC.
import { expect } from 'chai';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';

/** Awaits `p` and asserts that it failed with gRPC status `code`; returns the error. */
export async function expectCode(p: Promise<unknown>, code: grpcStatus): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    expect((e as ServiceError).code, (e as ServiceError).details).to.equal(code);
    return e as ServiceError;
  }
  throw new Error(`expected gRPC status ${grpcStatus[code]}, got success`);
}

/** A CRI ImageSpec naming `image`, with every other field empty as real clients send them. */
export const imageSpec = (image: string) => ({ image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' });
