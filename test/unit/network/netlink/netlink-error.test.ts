import { expect } from 'chai';
import { hasErrno } from '../../../../src/core/errors.js';
import { attr, encodeMessage, encodePayload } from '../../../../src/network/netlink/codec.js';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS } from '../../../../src/network/netlink/constants.js';
import { NetlinkError, netlinkErrorKind, parseDonePayload, parseErrorPayload } from '../../../../src/network/netlink/netlink-error.js';

function errorPayload(errno: number, echoed: Buffer, tlvs: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeInt32LE(-errno);
  return Buffer.concat([head, echoed, tlvs]);
}

const tlvs = encodePayload(new Uint8Array(0), [attr.str(NLMSGERR_ATTR_MSG, 'Unknown device type'), attr.u32(NLMSGERR_ATTR_OFFS, 36)]);

describe('netlink errors', function () {
  it('reads a plain ack as errno 0', function () {
    expect(parseErrorPayload(errorPayload(0, Buffer.alloc(16), Buffer.alloc(0)), NLM_F_CAPPED)).to.deep.equal({
      errno: 0,
      extack: undefined,
      badAttrOffset: undefined,
    });
  });

  it('reads the extended ack after a capped echo', function () {
    const p = errorPayload(95, Buffer.alloc(16), tlvs);
    expect(parseErrorPayload(p, NLM_F_CAPPED | NLM_F_ACK_TLVS)).to.deep.equal({
      errno: 95,
      extack: 'Unknown device type',
      badAttrOffset: 36,
    });
  });

  it('skips a whole echoed request when the ack is not capped', function () {
    const request = encodeMessage(16, 5, 9, Buffer.alloc(23)); // nlmsg_len 39, padded to 40
    const p = errorPayload(17, request, tlvs);
    expect(parseErrorPayload(p, NLM_F_ACK_TLVS)).to.include({ errno: 17, extack: 'Unknown device type' });
    // Without NLM_F_ACK_TLVS nothing after the echo is read.
    expect(parseErrorPayload(p, 0)).to.deep.equal({ errno: 17, extack: undefined, badAttrOffset: undefined });
  });

  it('reads a failed dump from NLMSG_DONE', function () {
    const head = Buffer.alloc(4);
    head.writeInt32LE(-22);
    expect(parseDonePayload(Buffer.concat([head, tlvs]), NLM_F_ACK_TLVS)).to.include({ errno: 22, extack: 'Unknown device type' });
    expect(parseDonePayload(Buffer.alloc(4), 0).errno).to.equal(0);
  });

  it('maps errnos to kinds', function () {
    expect(netlinkErrorKind('EEXIST')).to.equal('AlreadyExists');
    expect(netlinkErrorKind('ENODEV')).to.equal('NotFound');
    expect(netlinkErrorKind('ENOENT')).to.equal('NotFound');
    expect(netlinkErrorKind('EADDRNOTAVAIL')).to.equal('NotFound');
    expect(netlinkErrorKind('EPERM')).to.equal('PermissionDenied');
    expect(netlinkErrorKind('EINVAL')).to.equal('InvalidArgument');
    expect(netlinkErrorKind('EOPNOTSUPP')).to.equal('FailedPrecondition');
    expect(netlinkErrorKind('ENOBUFS')).to.equal('ResourceExhausted');
    expect(netlinkErrorKind('EBUSY')).to.equal('Unavailable');
    expect(netlinkErrorKind('EXDEV')).to.equal('Internal');
  });

  it('builds errors that read well and still look like system errors', function () {
    const e = new NetlinkError('creating bridge br0', 95, 'Unknown device type');
    expect(e.kind).to.equal('FailedPrecondition');
    expect(e.message).to.equal('creating bridge br0: EOPNOTSUPP (Unknown device type)');
    expect(e).to.include({ code: 'EOPNOTSUPP', errno: 95, syscall: 'netlink', extack: 'Unknown device type' });
    const dup = new NetlinkError('creating veth v1', 17);
    expect(dup.message).to.equal('creating veth v1: EEXIST');
    expect(dup.kind).to.equal('AlreadyExists');
    expect(hasErrno(dup, 'EEXIST')).to.equal(true);
  });
});
