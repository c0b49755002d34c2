import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { ERROR_KINDS, SkiffError } from '../../../src/core/errors.js';
import { STATUS_OF, toStatus } from '../../../src/cri/status-codes.js';

describe('cri/status-codes', function () {
  it('maps every error kind to a status other than UNKNOWN', function () {
    for (const kind of ERROR_KINDS) {
      expect(STATUS_OF[kind], kind).to.be.a('number');
      expect(STATUS_OF[kind], kind).to.not.equal(status.UNKNOWN);
    }
  });

  it('maps kinds to the codes kubelet expects', function () {
    expect(toStatus(new SkiffError('NotFound', 'x')).code).to.equal(status.NOT_FOUND);
    expect(toStatus(new SkiffError('InvalidArgument', 'x')).code).to.equal(status.INVALID_ARGUMENT);
    expect(toStatus(new SkiffError('AlreadyExists', 'x')).code).to.equal(status.ALREADY_EXISTS);
    expect(toStatus(new SkiffError('FailedPrecondition', 'x')).code).to.equal(status.FAILED_PRECONDITION);
  });

  it('never lets a raw ENOENT reach the caller as UNKNOWN', function () {
    const st = toStatus(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }));
    expect(st.code).to.equal(status.NOT_FOUND);
    expect(st.details).to.equal('ENOENT: no such file');
  });

  it('makes a plain thrown Error INTERNAL with its message', function () {
    const st = toStatus(new Error('disk on fire'));
    expect(st.code).to.equal(status.INTERNAL);
    expect(st.details).to.equal('disk on fire');
  });
});
