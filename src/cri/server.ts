// The gRPC server on the unix socket: registers every RPC of both CRI services (served or
// UNIMPLEMENTED), owns the socket file (mode 0660, stale socket replaced, live one refused), and
// drains in-flight calls on shutdown.
import { chmod, lstat, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { Server, ServerCredentials, status, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { ImageServiceService, RuntimeServiceService } from '../generated/runtime/v1/api.js';
import { AdminService } from '../generated/skiff/v1/admin.js';
import { failedPrecondition, hasErrno, SkiffError } from '../core/errors.js';
import { serverStream, unary, type EdgeDeps } from './instrument.js';
import type { AnyStream, AnyUnary, HandlerTable } from './handlers.js';

const SERVICES = {
  RuntimeService: RuntimeServiceService,
  ImageService: ImageServiceService,
  Admin: AdminService,
} as const;

/** The RPC name ("Version") from a method path ("/runtime.v1.RuntimeService/Version"). */
export function rpcName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function implement(deps: EdgeDeps, def: ServiceDefinition, table: Readonly<Record<string, AnyUnary | AnyStream>>) {
  const impl: UntypedServiceImplementation = {};
  for (const [method, m] of Object.entries(def)) {
    const rpc = rpcName(m.path);
    const handler =
      table[rpc] ??
      (async () => {
        throw new SkiffError('Unimplemented', `${rpc} is not implemented by skiff`);
      });
    impl[method] = m.responseStream
      ? serverStream(deps, rpc, handler as AnyStream)
      : unary(deps, rpc, handler as AnyUnary);
  }
  return impl;
}

/** Refuses a socket another process is serving; removes one nobody listens on. */
export async function clearSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) return;
    throw e;
  }
  if (!st.isSocket()) throw failedPrecondition(`${path} exists and is not a socket; refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw failedPrecondition(`${path} is in use by another process; is another skiffd running?`);
  await rm(path, { force: true });
}

export class CriServer {
  private readonly server = new Server({
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
  });

  constructor(
    private readonly deps: EdgeDeps,
    table: HandlerTable,
  ) {
    for (const [name, def] of Object.entries(SERVICES)) {
      this.server.addService(def, implement(deps, def, table[name as keyof HandlerTable]));
    }
  }

  async listen(socketPath: string): Promise<void> {
    await clearSocket(socketPath);
    // The socket must never be reachable with wider permissions than 0660, even for an instant.
    const oldMask = process.umask(0o117);
    try {
      await new Promise<void>((resolve, reject) =>
        this.server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    } finally {
      process.umask(oldMask);
    }
    await chmod(socketPath, 0o660);
    this.deps.log.info('serving CRI', { socket: socketPath });
  }

  /** Waits for in-flight calls up to `timeoutMs`, then cuts the rest off with UNAVAILABLE. */
  async shutdown(timeoutMs: number): Promise<void> {
    const graceful = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([graceful.then(() => 'drained' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.deps.log.warn('in-flight calls did not finish in time; cutting them off', { timeoutMs, code: status.UNAVAILABLE });
      this.server.forceShutdown();
    }
  }
}
