// Every RPC passes through here once: a request id and a child logger named after the RPC, the
// caller's deadline and cancellation turned into an AbortSignal, the readiness gate, one log line
// with the outcome, and any error converted to a gRPC status through the one table.
import { status as grpcStatus, type handleServerStreamingCall, type handleUnaryCall, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { newRequestId } from '../core/ids.js';
import { SkiffError, toSkiffError, unavailable } from '../core/errors.js';
import type { OpContext } from '../core/context.js';
import type { Logger } from '../log/logger.js';
import { toStatus } from './status-codes.js';

export type UnaryHandler<Req, Res> = (ctx: OpContext, req: Req) => Promise<Res>;
export type StreamHandler<Req, Res> = (ctx: OpContext, req: Req, send: (res: Res) => void) => Promise<void>;

/** Calls are refused with UNAVAILABLE until start-up finishes and again once shutdown begins. */
export class ReadinessGate {
  private state: 'starting' | 'ready' | 'stopping' = 'starting';
  open(): void {
    this.state = 'ready';
  }
  close(): void {
    this.state = 'stopping';
  }
  check(): void {
    if (this.state === 'starting') throw unavailable('skiffd is starting up; try again shortly');
    if (this.state === 'stopping') throw unavailable('skiffd is shutting down');
  }
}

/** RPCs that only read state log at debug; everything else changes something and logs at info. */
const READ_ONLY = /^(Version|Status|RuntimeConfig|List\w+|Stream\w+|\w+Status|\w+Stats|ImageFsInfo|GetContainerEvents)$/;

/** Told of every finished call: the RPC, its gRPC status name ("OK", "NOT_FOUND"…), seconds taken. */
export type CallObserver = (rpc: string, code: string, seconds: number) => void;

export interface EdgeDeps {
  readonly log: Logger;
  readonly gate: ReadinessGate;
  /** The daemon's metrics, when enabled. */
  readonly observe?: CallObserver;
}

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

function begin(deps: EdgeDeps, rpc: string, call: AnyCall) {
  const reqId = newRequestId();
  const log = deps.log.child({ rpc, req: reqId });
  const controller = new AbortController();
  const raw = call.getDeadline();
  const deadlineMs = raw instanceof Date ? raw.getTime() : Number.isFinite(raw) ? Number(raw) : undefined;
  let timer: NodeJS.Timeout | undefined;
  if (deadlineMs !== undefined) {
    timer = setTimeout(
      () => controller.abort(new SkiffError('DeadlineExceeded', `${rpc}: the caller's deadline passed`)),
      Math.max(0, deadlineMs - Date.now()),
    );
  }
  const onCancel = () => controller.abort(new SkiffError('Cancelled', `${rpc}: cancelled by the caller`));
  call.once('cancelled', onCancel);
  const ctx: OpContext = { log, signal: controller.signal, deadline: deadlineMs };
  const started = process.hrtime.bigint();
  const level = READ_ONLY.test(rpc) ? 'debug' : 'info';
  const finish = (err?: unknown) => {
    if (timer) clearTimeout(timer);
    call.removeListener('cancelled', onCancel);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (err === undefined) {
      log.log(level, `${rpc} ok`, { ms: Math.round(ms * 100) / 100 });
      deps.observe?.(rpc, 'OK', ms / 1000);
      return undefined;
    }
    const e = toSkiffError(err);
    // Internal errors are ours: always worth an error line. Caller mistakes are not.
    const errLevel = e.kind === 'Internal' ? 'error' : level === 'debug' ? 'debug' : 'warn';
    log.log(errLevel, `${rpc} failed`, { kind: e.kind, error: e.message, ms: Math.round(ms * 100) / 100 });
    const st = toStatus(e);
    deps.observe?.(rpc, grpcStatus[st.code], ms / 1000);
    return st;
  };
  return { ctx, finish };
}

export function unary<Req, Res>(deps: EdgeDeps, rpc: string, handler: UnaryHandler<Req, Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const { ctx, finish } = begin(deps, rpc, call as AnyCall);
    (async () => {
      deps.gate.check();
      return handler(ctx, call.request);
    })().then(
      (res) => {
        finish();
        callback(null, res);
      },
      (err: unknown) => callback(finish(err) ?? null),
    );
  };
}

export function serverStream<Req, Res>(
  deps: EdgeDeps,
  rpc: string,
  handler: StreamHandler<Req, Res>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const { ctx, finish } = begin(deps, rpc, call as AnyCall);
    (async () => {
      deps.gate.check();
      await handler(ctx, call.request, (res) => call.write(res));
    })().then(
      () => {
        finish();
        call.end();
      },
      (err: unknown) => {
        const st = finish(err);
        call.emit('error', st);
      },
    );
  };
}
