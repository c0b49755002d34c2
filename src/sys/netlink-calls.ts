// The socket calls rtnetlink needs, and setns for withNetns. Synchronous on purpose: the kernel
// answers a route-netlink request before send() returns, so a recv() right after never waits long,
// and a netns switch must not let other JavaScript run while the thread is in the wrong namespace.
import koffi from 'koffi';
import { check, fn } from './libc.js';
import { SyscallError } from './errno.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20; // the 64-bit time_t variant on x86_64 and arm64
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const NETLINK_GET_STRICT_CHK = 12;
const MSG_TRUNC = 0x20;
const EINTR = 4;

export const NETLINK_ROUTE = 0;
export const CLONE_NEWNET = 0x40000000;

function setOption(fd: number, level: number, name: number, value: Buffer, what: string): void {
  const f = fn('int setsockopt(int fd, int level, int optname, const void *optval, uint32_t optlen)', 'setsockopt');
  check('setsockopt', f(fd, level, name, value, value.length) as number, what);
}

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  return b;
}

/**
 * A netlink socket with extended acks (the kernel says which attribute it disliked), capped acks
 * (an error does not echo the whole request back) and strict checking (dumps filter in the
 * kernel). A receive timeout turns a kernel that never answers into EAGAIN instead of a daemon
 * that hangs forever.
 */
export function netlinkSocket(protocol: number, recvTimeoutMs: number): number {
  const socket = fn('int socket(int domain, int type, int protocol)', 'socket');
  const fd = check('socket', socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol) as number, 'AF_NETLINK');
  try {
    setOption(fd, SOL_NETLINK, NETLINK_EXT_ACK, int32(1), 'NETLINK_EXT_ACK');
    setOption(fd, SOL_NETLINK, NETLINK_CAP_ACK, int32(1), 'NETLINK_CAP_ACK');
    setOption(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, int32(1), 'NETLINK_GET_STRICT_CHK');
    const tv = Buffer.alloc(16); // struct timeval: two 64-bit longs
    tv.writeBigInt64LE(BigInt(Math.floor(recvTimeoutMs / 1000)), 0);
    tv.writeBigInt64LE(BigInt((recvTimeoutMs % 1000) * 1000), 8);
    setOption(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 'SO_RCVTIMEO');
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  return fd;
}

/** Sends one datagram to the kernel (port 0); a netlink datagram goes whole or not at all. */
export function netlinkSend(fd: number, data: Buffer): void {
  const send = fn('long send(int fd, const void *buf, size_t len, int flags)', 'send');
  for (;;) {
    const n = send(fd, data, data.length, 0) as number;
    if (n === -1 && koffi.errno() === EINTR) continue;
    check('send', n, 'netlink');
    return;
  }
}

/**
 * Receives one datagram into buf and returns its real length, which is larger than buf when the
 * datagram was truncated (MSG_TRUNC): the caller must treat that as an error.
 */
export function netlinkRecv(fd: number, buf: Buffer): number {
  const recv = fn('long recv(int fd, void *buf, size_t len, int flags)', 'recv');
  for (;;) {
    const n = recv(fd, buf, buf.length, MSG_TRUNC) as number;
    if (n === -1 && koffi.errno() === EINTR) continue;
    return check('recv', n, 'netlink');
  }
}

export function closeFd(fd: number): void {
  const close = fn('int close(int fd)', 'close');
  // close() must not be retried on EINTR on Linux: the fd is gone either way.
  const ret = close(fd) as number;
  if (ret === -1) {
    const errno = koffi.errno();
    if (errno !== EINTR) throw new SyscallError('close', errno);
  }
}

/** Moves the calling thread into the namespace fd refers to. */
export function setns(fd: number, nstype: number, detail?: string): void {
  const f = fn('int setns(int fd, int nstype)', 'setns');
  check('setns', f(fd, nstype) as number, detail);
}
