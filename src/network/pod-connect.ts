// TCP to localhost:<port> inside a pod's network namespace, for PortForward. The socket is made
// while the thread is in the pod's namespace (withNetns) and so belongs to it; Node connects it
// afterwards, without blocking, from the host's namespace.
import net from 'node:net';
import { SkiffError, hasErrno, toSkiffError } from '../core/errors.js';
import { tcpSocket } from '../sys/socket-calls.js';
import { withNetns } from './netlink/with-netns.js';

/** containerd's limit: a pod that drops SYNs on loopback must not hold the stream for minutes. */
const CONNECT_TIMEOUT_MS = 5000;

function connectFd(fd: number, host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Half-open: the pod's FIN must not end what the client still sends.
    const s = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new SkiffError('DeadlineExceeded', `connecting to ${host}:${port} in the pod: no answer in ${CONNECT_TIMEOUT_MS / 1000} s`));
    }, CONNECT_TIMEOUT_MS);
    s.once('error', (e) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    });
    s.connect({ port, host }, () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
  });
}

/** Where to dial: the host's namespace is named, never a default a missing path falls back to. */
export type DialNamespace = { readonly host: true } | { readonly netnsPath: string };

/**
 * Connects to 127.0.0.1:<port>, then [::1]:<port>, in the pod's network namespace (or, for a
 * host-network pod, the host's), as containerd dials "localhost" there.
 */
export async function connectInPod(where: DialNamespace, port: number): Promise<net.Socket> {
  const make = (family: 4 | 6) => ('host' in where ? tcpSocket(family) : withNetns(where.netnsPath, () => tcpSocket(family)));
  let first: unknown;
  for (const [family, host] of [[4, '127.0.0.1'], [6, '::1']] as const) {
    let fd: number;
    try {
      fd = make(family);
    } catch (e) {
      first ??= e;
      continue;
    }
    try {
      return await connectFd(fd, host, port);
    } catch (e) {
      first ??= e;
    }
  }
  if (first instanceof SkiffError) throw first;
  if (hasErrno(first, 'ECONNREFUSED')) throw new SkiffError('Unavailable', `nothing listens on localhost:${port} in the pod`);
  throw toSkiffError(first, `connecting to localhost:${port} in the pod`);
}
