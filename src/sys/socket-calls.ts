// Sockets Node cannot make itself: a connected unix socket pair whose one end a helper inherits
// (node:net has no socketpair), the fd a helper sends back over it (SCM_RIGHTS, which node:net
// cannot receive), and an unconnected TCP socket, created while the thread is inside a pod's
// network namespace: the socket belongs to that namespace for good, and Node connects it later
// (new net.Socket({ fd }).connect(...)) without blocking the event loop.
import koffi from 'koffi';
import { check, fn } from './libc.js';
import { SyscallError } from './errno.js';

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_DONTWAIT = 0x40;
const MSG_CTRUNC = 0x8;
const MSG_CMSG_CLOEXEC = 0x40000000;
const F_DUPFD_CLOEXEC = 1030;
const EAGAIN = 11;

/** Two connected unix stream sockets, close-on-exec. */
export function socketPair(): [number, number] {
  const fds = [0, 0];
  const f = fn('int socketpair(int domain, int type, int protocol, _Out_ int *fds)', 'socketpair');
  check('socketpair', f(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) as number);
  return [fds[0] as number, fds[1] as number];
}

/** A new TCP socket of the calling thread's network namespace, non-blocking and close-on-exec. */
export function tcpSocket(family: 4 | 6): number {
  const f = fn('int socket(int domain, int type, int protocol)', 'socket');
  return check('socket', f(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) as number);
}

/**
 * The fd a helper sent over `sock` (one SCM_RIGHTS message, already queued: no wait), close-on-exec
 * and moved to `minFd` or above. EAGAIN when nothing was sent.
 */
export function receiveFd(sock: number, minFd: number): number {
  // struct msghdr, iovec and one cmsghdr holding one int, laid out for LP64 (x86_64, arm64).
  const data = Buffer.alloc(1);
  const control = Buffer.alloc(24);
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(koffi.address(data), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  const msg = Buffer.alloc(56);
  msg.writeBigUInt64LE(koffi.address(iov), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(koffi.address(control), 32);
  msg.writeBigUInt64LE(BigInt(control.length), 40);
  const recvmsg = fn('long recvmsg(int fd, void *msg, int flags)', 'recvmsg');
  const n = recvmsg(sock, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) as number;
  if (n === -1) throw new SyscallError('recvmsg', koffi.errno(), 'SCM_RIGHTS');
  const got = msg.readBigUInt64LE(40) >= 20n && control.readInt32LE(8) === SOL_SOCKET && control.readInt32LE(12) === SCM_RIGHTS;
  if (!got || (msg.readInt32LE(48) & MSG_CTRUNC) !== 0) throw new SyscallError('recvmsg', EAGAIN, 'no fd in the message');
  const fd = control.readInt32LE(16);
  const fcntl = fn('int fcntl(int fd, int cmd, ...)', 'fcntl');
  const close = fn('int close(int fd)', 'close');
  try {
    return check('fcntl', fcntl(fd, F_DUPFD_CLOEXEC, 'int', minFd) as number, 'F_DUPFD_CLOEXEC');
  } finally {
    close(fd);
  }
}
