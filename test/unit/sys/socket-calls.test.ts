// Receiving an fd a helper sent (SCM_RIGHTS; the native skiff-pinns tests send real ones): the
// daemon reads it after the helper has exited, so nothing sent is an error, never a wait.
import { expect } from 'chai';
import { closeSync } from 'node:fs';
import { receiveFd, socketPair } from '../../../src/sys/socket-calls.js';

describe('sys/socket-calls', function () {
  it('fails at once (EAGAIN) when nothing was sent', function () {
    const [ours, theirs] = socketPair();
    try {
      expect(() => receiveFd(ours, 64)).to.throw(/recvmsg SCM_RIGHTS: (EAGAIN|EWOULDBLOCK)/);
    } finally {
      closeSync(ours);
      closeSync(theirs);
    }
  });
});
