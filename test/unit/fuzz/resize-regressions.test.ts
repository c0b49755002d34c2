// A finding of the terminal-resize fuzz target (test/fuzz/targets/spdy.ts): a client's window
// size of -1 reached the attach connection's u16 frame writer, whose RangeError, thrown in a
// stream's 'data' handler, was an uncaught exception in the daemon.
import { expect } from 'chai';
import { AttachConnection } from '../../../src/runtime/attach-connection.js';
import { ResizeParser } from '../../../src/streaming/remotecommand/status.js';

describe('fuzz findings: terminal sizes', () => {
  it('skips terminal sizes outside 0..65535 instead of crashing the attach relay', () => {
    const parser = new ResizeParser();
    const sizes = parser.push(Buffer.from('{"Width":80,"Height":-1}{"Width":70000,"Height":24}{"Width":-5e300,"Height":1}{"Width":132,"Height":50}'));
    expect(sizes).to.deep.equal([{ width: 132, height: 50 }]);
    // What the relay does with each size: a frame for the monitor, rows and cols as u16.
    const sink = Object.create(AttachConnection.prototype, { ended: { value: true }, socket: { value: { destroyed: true } } }) as AttachConnection;
    for (const s of sizes) expect(() => sink.resize(s.height, s.width)).not.to.throw();
  });
});
