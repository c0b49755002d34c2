import { expect } from 'chai';
import { isKind } from '../../../src/core/errors.js';
import { criSignalKey, parseSignal, signalName } from '../../../src/oci/signals.js';

describe('oci/signals', function () {
  it('parses names, short names, numbers and CRI enum names', function () {
    const table: [string, string, number][] = [
      ['SIGTERM', 'SIGTERM', 15],
      ['TERM', 'SIGTERM', 15],
      ['sigquit', 'SIGQUIT', 3],
      ['quit', 'SIGQUIT', 3],
      [' SIGINT ', 'SIGINT', 2],
      ['9', 'SIGKILL', 9],
      ['SIGWINCH', 'SIGWINCH', 28],
      ['SIGIOT', 'SIGABRT', 6],
      ['SIGCLD', 'SIGCHLD', 17],
      ['SIGPOLL', 'SIGIO', 29],
      ['SIGPWR', 'SIGPWR', 30],
      ['SIGRTMIN', 'SIGRTMIN', 34],
      ['SIGRTMIN+3', 'SIGRTMIN+3', 37],
      ['RTMIN+15', 'SIGRTMIN+15', 49],
      ['SIGRTMAX-14', 'SIGRTMAX-14', 50],
      ['SIGRTMAX', 'SIGRTMAX', 64],
      ['SIGRTMIN+30', 'SIGRTMAX', 64],
      ['40', 'SIGRTMIN+6', 40],
      ['60', 'SIGRTMAX-4', 60],
      ['SIGNAL_SIGQUIT', 'SIGQUIT', 3],
      ['SIGNAL_SIGRTMINPLUS1', 'SIGRTMIN+1', 35],
      ['SIGNAL_SIGRTMAXMINUS1', 'SIGRTMAX-1', 63],
      ['SIGNAL_SIGRTMAX', 'SIGRTMAX', 64],
      ['SIGRTMINPLUS1', 'SIGRTMIN+1', 35],
      ['RTMAXMINUS2', 'SIGRTMAX-2', 62],
    ];
    for (const [s, name, number] of table) expect(parseSignal(s), s).to.deep.equal({ name, number });
  });

  it('rejects what is no signal', function () {
    for (const s of ['', '0', '65', '-1', 'SIGFOO', 'SIG', 'RTMIN+31', 'SIGRTMAX+1', 'SIGRTMIN-1', '3.5', 'SIGNAL_RUNTIME_DEFAULT']) {
      let err: unknown;
      try {
        parseSignal(s);
      } catch (e) {
        err = e;
      }
      expect(isKind(err, 'InvalidArgument'), s).to.equal(true);
    }
  });

  it('names every number from 1 to 64', function () {
    for (let n = 1; n <= 64; n++) {
      const name = signalName(n);
      if (n === 32 || n === 33) continue;
      expect(parseSignal(name).number, name).to.equal(n);
    }
  });

  it('gives the CRI enum key of a signal, and parses it back', function () {
    expect(criSignalKey({ name: 'SIGQUIT', number: 3 })).to.equal('SIGNAL_SIGQUIT');
    expect(criSignalKey(parseSignal('SIGIOT'))).to.equal('SIGNAL_SIGABRT');
    expect(criSignalKey(parseSignal('SIGRTMIN+15'))).to.equal('SIGNAL_SIGRTMINPLUS15');
    expect(criSignalKey(parseSignal('SIGRTMAX-14'))).to.equal('SIGNAL_SIGRTMAXMINUS14');
    expect(criSignalKey(parseSignal('SIGRTMIN'))).to.equal('SIGNAL_SIGRTMIN');
    expect(criSignalKey({ name: 'SIG32', number: 32 })).to.equal(undefined);
    for (let n = 1; n <= 64; n++) {
      const key = criSignalKey({ name: signalName(n), number: n });
      if (key !== undefined) expect(parseSignal(key).number, key).to.equal(n);
    }
  });
});
