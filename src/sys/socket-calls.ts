// Sockets Node cannot make itself: a connected unix socket pair whose one end a helper inherits
// (node:net has no socketpair), and an unconnected TCP socket, created while the thread is inside
// a pod's network namespace: the socket belongs to that namespace for good, and Node connects it
// later (new net.Socket({ fd }).connect(...)) without blocking the event loop.
import { check, fn } from './libc.js';

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

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
