import { expect } from 'chai';
import { hasErrno, notFound, SkiffError, toSkiffError } from '../../../src/core/errors.js';

describe('core/errors', function () {
  it('gives a Node system error the kind of its errno and keeps the cause', function () {
    const sys = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT' });
    const e = toSkiffError(sys, 'reading record');
    expect(e.kind).to.equal('NotFound');
    expect(e.message).to.equal("reading record: ENOENT: no such file or directory, open '/x'");
    expect(e.cause).to.equal(sys);
  });

  it('makes anything unknown Internal', function () {
    expect(toSkiffError('boom').kind).to.equal('Internal');
    expect(toSkiffError(new TypeError('x')).kind).to.equal('Internal');
  });

  it('keeps the kind when wrapping with context', function () {
    const e = toSkiffError(notFound('image busybox'), 'pulling');
    expect(e).to.be.instanceOf(SkiffError);
    expect(e.kind).to.equal('NotFound');
    expect(e.message).to.equal('pulling: image busybox');
  });

  it('turns an abort into Cancelled', function () {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(toSkiffError(abort).kind).to.equal('Cancelled');
  });

  it('checks one errno', function () {
    expect(hasErrno(Object.assign(new Error(), { code: 'EEXIST' }), 'EEXIST')).to.equal(true);
    expect(hasErrno(new Error(), 'EEXIST')).to.equal(false);
  });
});
