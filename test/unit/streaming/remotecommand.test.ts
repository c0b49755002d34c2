// The pure parts of the streaming server: tokens, protocol choice, status encoding, resize parsing.
import { expect } from 'chai';
import { negotiate } from '../../../src/streaming/server.js';
import { encodeStatus, ResizeParser, statusObject } from '../../../src/streaming/remotecommand/status.js';
import { websocketFlavour } from '../../../src/streaming/remotecommand/websocket-command.js';
import { requestIdOf } from '../../../src/streaming/portforward/spdy-portforward.js';
import { TokenCache } from '../../../src/streaming/token-cache.js';
import { SkiffError } from '../../../src/core/errors.js';

describe('streaming: tokens', () => {
  it('hands out each token once', () => {
    const c = new TokenCache<string>();
    const t = c.insert('exec a');
    expect(t).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(c.consume(t)).to.equal('exec a');
    expect(c.consume(t)).to.equal(undefined);
  });

  it('refuses a token after its minute', () => {
    let now = 1000;
    const c = new TokenCache<string>(60_000, 1000, () => now);
    const t = c.insert('x');
    now += 60_000;
    expect(c.consume(t)).to.equal(undefined);
  });

  it('holds at most the configured number in flight, expired ones making room', () => {
    let now = 0;
    const c = new TokenCache<number>(10, 2, () => now);
    c.insert(1);
    c.insert(2);
    let err: unknown;
    try {
      c.insert(3);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(SkiffError).with.property('kind', 'ResourceExhausted');
    now = 10;
    c.insert(3);
    expect(c.size).to.equal(1);
  });
});

describe('streaming: protocols', () => {
  it('picks the first protocol of the client that the server accepts', () => {
    expect(negotiate(['v5.channel.k8s.io', 'v4.channel.k8s.io'], ['v4.channel.k8s.io', 'channel.k8s.io'])).to.equal('v4.channel.k8s.io');
    expect(negotiate(['v9.channel.k8s.io'], ['v4.channel.k8s.io'])).to.equal(undefined);
  });

  it('knows the WebSocket flavours: base64, JSON status from v4, the close channel from v5', () => {
    expect(websocketFlavour('base64.channel.k8s.io')).to.deep.equal({ base64: true, jsonStatus: false, closeChannel: false });
    expect(websocketFlavour('v4.base64.channel.k8s.io')).to.deep.equal({ base64: true, jsonStatus: true, closeChannel: false });
    expect(websocketFlavour('v5.channel.k8s.io')).to.deep.equal({ base64: false, jsonStatus: true, closeChannel: true });
  });

  it('pairs port-forward streams by requestID, or by stream id for old clients', () => {
    const s = (id: number, h: Record<string, string>) => ({ id, header: (n: string) => h[n] });
    expect(requestIdOf(s(7, { streamtype: 'data', requestid: '4' }))).to.equal('4');
    expect(requestIdOf(s(1, { streamtype: 'error' }))).to.equal('1');
    expect(requestIdOf(s(3, { streamtype: 'data' }))).to.equal('1');
    expect(requestIdOf(s(3, { streamtype: 'other' }))).to.equal(undefined);
  });
});

describe('streaming: the error stream', () => {
  it('writes kubelet\'s v4 Status: Success, NonZeroExitCode with the code as a cause, InternalError', () => {
    expect(JSON.parse(encodeStatus({ exitCode: 0 }, true)!.toString())).to.deep.equal({ metadata: {}, status: 'Success' });
    const failed = JSON.parse(encodeStatus({ exitCode: 3, command: ['sh', '-c', 'exit 3'] }, true)!.toString());
    expect(failed).to.deep.include({ status: 'Failure', reason: 'NonZeroExitCode' });
    expect(failed.details.causes).to.deep.equal([{ reason: 'ExitCode', message: '3' }]);
    expect(failed.message).to.equal('command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3');
    expect(statusObject({ error: 'boom' })).to.deep.include({ status: 'Failure', reason: 'InternalError', code: 500, message: 'Internal error occurred: boom' });
  });

  it('writes only failures, as text, before v4', () => {
    expect(encodeStatus({ exitCode: 0 }, false)).to.equal(undefined);
    expect(encodeStatus({ exitCode: 2 }, false)!.toString()).to.equal('command terminated with non-zero exit code: exit code 2');
  });

  it('reads window sizes one JSON object after another, split anywhere', () => {
    const p = new ResizeParser();
    expect(p.push(Buffer.from('{"Width":80,"Hei'))).to.deep.equal([]);
    expect(p.push(Buffer.from('ght":24}\n{"Width":100,"Height":40}\n'))).to.deep.equal([
      { width: 80, height: 24 },
      { width: 100, height: 40 },
    ]);
  });
});
