import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { status, type ServiceError } from '@grpc/grpc-js';
import { invalidArgument, notFound } from '../../../src/core/errors.js';
import type { OpContext } from '../../../src/core/context.js';
import { ReadinessGate, serverStream, unary } from '../../../src/cri/instrument.js';
import { silentLogger } from '../../../src/log/logger.js';

/** Just enough of a grpc-js server call for the wrapper. */
class FakeCall<Req> extends EventEmitter {
  written: unknown[] = [];
  ended = false;
  constructor(
    readonly request: Req,
    private readonly deadline: Date | number = Infinity,
  ) {
    super();
  }
  getDeadline() {
    return this.deadline;
  }
  write(x: unknown) {
    this.written.push(x);
    return true;
  }
  end() {
    this.ended = true;
  }
}

function invoke<Req, Res>(
  handler: ReturnType<typeof unary<Req, Res>>,
  call: FakeCall<Req>,
): Promise<{ err: Partial<ServiceError> | null; res?: Res }> {
  return new Promise((resolve) =>
    (handler as unknown as (c: unknown, cb: (e: Partial<ServiceError> | null, r?: Res) => void) => void)(
      call,
      (err, res) => resolve({ err, res }),
    ),
  );
}

describe('cri/instrument', function () {
  const log = silentLogger();
  const ready = () => {
    const g = new ReadinessGate();
    g.open();
    return g;
  };

  it('passes the request to the handler and its answer back', async function () {
    const h = unary<{ n: number }, { m: number }>({ log, gate: ready() }, 'Version', async (_ctx, req) => ({ m: req.n + 1 }));
    const { err, res } = await invoke(h, new FakeCall({ n: 1 }));
    expect(err).to.equal(null);
    expect(res).to.deep.equal({ m: 2 });
  });

  it('turns a thrown error into its status code and message', async function () {
    const h = unary({ log, gate: ready() }, 'RunPodSandbox', async () => {
      throw invalidArgument('metadata.name is empty');
    });
    const { err } = await invoke(h, new FakeCall({}));
    expect(err?.code).to.equal(status.INVALID_ARGUMENT);
    expect(err?.details).to.equal('metadata.name is empty');
  });

  it('refuses calls with UNAVAILABLE before start-up finishes and after shutdown begins', async function () {
    const gate = new ReadinessGate();
    let called = 0;
    const h = unary({ log, gate }, 'Version', async () => ({ called: ++called }));
    expect((await invoke(h, new FakeCall({}))).err?.code).to.equal(status.UNAVAILABLE);
    gate.open();
    expect((await invoke(h, new FakeCall({}))).err).to.equal(null);
    gate.close();
    const { err } = await invoke(h, new FakeCall({}));
    expect(err?.code).to.equal(status.UNAVAILABLE);
    expect(err?.details).to.match(/shutting down/);
    expect(called).to.equal(1);
  });

  it("aborts the handler's signal when the caller's deadline passes", async function () {
    let seen: OpContext | undefined;
    const h = unary({ log, gate: ready() }, 'PullImage', async (ctx) => {
      seen = ctx;
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      throw ctx.signal.reason;
    });
    const { err } = await invoke(h, new FakeCall({}, new Date(Date.now() + 30)));
    expect(seen?.deadline).to.be.a('number');
    expect(seen?.signal.aborted).to.equal(true);
    expect(err?.code).to.equal(status.DEADLINE_EXCEEDED);
  });

  it("aborts the handler's signal when the caller cancels", async function () {
    const call = new FakeCall({});
    const h = unary({ log, gate: ready() }, 'PullImage', async (ctx) => {
      setImmediate(() => call.emit('cancelled'));
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      return { aborted: ctx.signal.aborted };
    });
    const { res } = await invoke(h, call);
    expect(res).to.deep.equal({ aborted: true });
  });

  it('streams what the handler sends, then ends; an error becomes the stream status', async function () {
    const ok = new FakeCall({});
    await new Promise<void>((resolve) => {
      const h = serverStream<object, number>({ log, gate: ready() }, 'StreamImages', async (_ctx, _req, send) => {
        send(1);
        send(2);
        setImmediate(resolve);
      });
      (h as unknown as (c: unknown) => void)(ok);
    });
    expect(ok.written).to.deep.equal([1, 2]);
    expect(ok.ended).to.equal(true);

    const bad = new FakeCall({});
    const err = await new Promise<Partial<ServiceError>>((resolve) => {
      bad.on('error', resolve);
      const h = serverStream({ log, gate: ready() }, 'StreamImages', async () => {
        throw invalidArgument('bad filter');
      });
      (h as unknown as (c: unknown) => void)(bad);
    });
    expect(err.code).to.equal(status.INVALID_ARGUMENT);
  });

  it('tells the observer of each call: RPC, status code name and seconds', async function () {
    const seen: [string, string, number][] = [];
    const deps = { log, gate: ready(), observe: (rpc: string, code: string, s: number) => seen.push([rpc, code, s]) };
    await invoke(unary(deps, 'Version', async () => ({})), new FakeCall({}));
    await invoke(unary(deps, 'ContainerStatus', async () => { throw notFound('no such container'); }), new FakeCall({}));
    expect(seen.map(([rpc, code]) => [rpc, code])).to.deep.equal([['Version', 'OK'], ['ContainerStatus', 'NOT_FOUND']]);
    for (const [, , s] of seen) expect(s).to.be.within(0, 1);
  });
});
