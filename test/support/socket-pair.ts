// Two ends of a real loopback TCP connection, for tests of the streaming protocols: a SPDY or
// WebSocket session must see the same socket behaviour (half-close, backpressure) as in skiffd.
import net from 'node:net';

/** [the accepted (server) side, the client side]. */
export async function duplexPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect(port, '127.0.0.1');
  const a = await accepted;
  server.close();
  return [a, client];
}
