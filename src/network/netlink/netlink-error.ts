// The kernel's answer to a request is an NLMSG_ERROR: errno 0 is the ack, anything else the
// failure, with the kernel's own sentence when extended acks are on ("Unknown device type").
// Failures become SkiffErrors whose kind follows the errno, and which still carry `code` and
// `errno` so `hasErrno(e, 'EEXIST')` works on them.
import { SkiffError, type ErrorKind } from '../../core/errors.js';
import { errnoName } from '../../sys/errno.js';
import { align4, decodeAttrs, readString, readU32 } from './codec.js';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_HDRLEN, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS } from './constants.js';

const KINDS: Readonly<Record<string, ErrorKind>> = {
  EEXIST: 'AlreadyExists',
  ENOTEMPTY: 'AlreadyExists',
  ENODEV: 'NotFound',
  ENOENT: 'NotFound',
  ESRCH: 'NotFound',
  EADDRNOTAVAIL: 'NotFound',
  EPERM: 'PermissionDenied',
  EACCES: 'PermissionDenied',
  EINVAL: 'InvalidArgument',
  ERANGE: 'InvalidArgument',
  E2BIG: 'InvalidArgument',
  ENAMETOOLONG: 'InvalidArgument',
  EMSGSIZE: 'InvalidArgument',
  // The kernel cannot do it at all: a link kind whose module is missing, a family not built in.
  EOPNOTSUPP: 'FailedPrecondition',
  EAFNOSUPPORT: 'FailedPrecondition',
  EPROTONOSUPPORT: 'FailedPrecondition',
  ENETUNREACH: 'FailedPrecondition',
  ENETDOWN: 'FailedPrecondition',
  EHOSTUNREACH: 'FailedPrecondition',
  EBUSY: 'Unavailable',
  EAGAIN: 'Unavailable',
  ENOMEM: 'ResourceExhausted',
  ENOBUFS: 'ResourceExhausted',
  ENOSPC: 'ResourceExhausted',
  EMFILE: 'ResourceExhausted',
  ENFILE: 'ResourceExhausted',
  ETIMEDOUT: 'DeadlineExceeded',
};

export function netlinkErrorKind(code: string): ErrorKind {
  return KINDS[code] ?? 'Internal';
}

export class NetlinkError extends SkiffError {
  readonly code: string;
  readonly errno: number;
  readonly syscall = 'netlink';
  /** The kernel's extended-ack message, when it gave one. */
  readonly extack: string | undefined;

  constructor(what: string, errno: number, extack?: string) {
    const code = errnoName(errno);
    super(netlinkErrorKind(code), `${what}: ${code}${extack ? ` (${extack})` : ''}`);
    this.code = code;
    this.errno = errno;
    this.extack = extack;
  }
}

export interface AckInfo {
  /** Positive errno, 0 for success. */
  readonly errno: number;
  readonly extack: string | undefined;
  /** Byte offset of the offending attribute in the request, when the kernel says. */
  readonly badAttrOffset: number | undefined;
}

function extAck(payload: Buffer, offset: number): Pick<AckInfo, 'extack' | 'badAttrOffset'> {
  if (offset >= payload.length) return { extack: undefined, badAttrOffset: undefined };
  const attrs = decodeAttrs(payload, offset);
  return { extack: readString(attrs.get(NLMSGERR_ATTR_MSG)), badAttrOffset: readU32(attrs.get(NLMSGERR_ATTR_OFFS)) };
}

/** Reads an NLMSG_ERROR payload: `int error; struct nlmsghdr msg; [request body]; [ext-ack TLVs]`. */
export function parseErrorPayload(payload: Buffer, flags: number): AckInfo {
  if (payload.length < 4) return { errno: 0, extack: undefined, badAttrOffset: undefined };
  const errno = -payload.readInt32LE(0) || 0; // not -0
  if (!(flags & NLM_F_ACK_TLVS)) return { errno, extack: undefined, badAttrOffset: undefined };
  // Without NLM_F_CAPPED the whole request is echoed: skip it by its own length.
  const echoed =
    flags & NLM_F_CAPPED || payload.length < 4 + NLMSG_HDRLEN
      ? NLMSG_HDRLEN
      : align4(payload.readUInt32LE(4));
  return { errno, ...extAck(payload, 4 + echoed) };
}

/** Reads an NLMSG_DONE payload: `int error` (non-zero when a dump failed half way), then TLVs. */
export function parseDonePayload(payload: Buffer, flags: number): AckInfo {
  if (payload.length < 4) return { errno: 0, extack: undefined, badAttrOffset: undefined };
  const errno = -payload.readInt32LE(0) || 0; // not -0
  if (!(flags & NLM_F_ACK_TLVS)) return { errno, extack: undefined, badAttrOffset: undefined };
  return { errno, ...extAck(payload, 4) };
}
