// A remote command over WebSocket (kubelet's wsstream): every message starts with its channel,
// 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; base64 protocols send text messages with the
// channel as an ASCII digit and the payload in base64. v5 adds channel 255, "close": [255, 0]
// ends stdin. v4 and later put a JSON status on the error channel.
import { PassThrough, Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { encodeStatus, ResizeParser, Resizes } from './status.js';
import type { CommandRunner, StreamOptions } from './types.js';

export const WEBSOCKET_COMMAND_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

export function websocketFlavour(protocol: string): { base64: boolean; jsonStatus: boolean; closeChannel: boolean } {
  return {
    base64: protocol.includes('base64'),
    jsonStatus: protocol.startsWith('v4.') || protocol.startsWith('v5.'),
    closeChannel: protocol.startsWith('v5.'),
  };
}

export async function serveWebSocketCommand(ws: WebSocket, protocol: string, o: StreamOptions, run: CommandRunner): Promise<void> {
  const flavour = websocketFlavour(protocol);
  const send = (channel: number, data: Buffer): Promise<void> =>
    new Promise((resolve) => {
      if (ws.readyState !== ws.OPEN) return resolve();
      const msg = flavour.base64 ? String.fromCharCode(48 + channel) + data.toString('base64') : Buffer.concat([Buffer.from([channel]), data]);
      // The callback comes once the message is written: that is the writer's backpressure.
      ws.send(msg, { binary: !flavour.base64 }, () => resolve());
    });
  const channelWriter = (channel: number) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        send(channel, chunk).then(() => cb());
      },
    });

  const gone = new AbortController();
  const stdin = o.stdin ? new PassThrough() : undefined;
  const resizes = new Resizes();
  const resizeParser = new ResizeParser();
  ws.on('close', () => {
    gone.abort();
    stdin?.end();
  });
  ws.on('message', (raw: Buffer | string, isBinary: boolean) => {
    let data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    if (data.length === 0) return;
    let channel = data[0]!;
    if (flavour.base64 && !isBinary) {
      channel -= 48;
      data = Buffer.from(data.subarray(1).toString('latin1'), 'base64');
    } else {
      data = data.subarray(1);
    }
    if (channel === STDIN && stdin && !stdin.writableEnded) {
      // The process is slower than the client: stop reading the socket until it catches up.
      if (!stdin.write(data)) {
        ws.pause();
        stdin.once('drain', () => ws.resume());
      }
    }
    else if (channel === RESIZE && o.tty) for (const size of resizeParser.push(data)) resizes.emit(size);
    else if (channel === CLOSE && flavour.closeChannel && data[0] === STDIN) stdin?.end();
  });

  // kubelet announces the connection with an empty message on the lowest channel it writes.
  await send(o.stdout ? STDOUT : o.stderr ? STDERR : ERROR, Buffer.alloc(0));
  const stdout = o.stdout ? channelWriter(STDOUT) : undefined;
  const stderr = o.stderr ? channelWriter(STDERR) : undefined;
  const outcome = await run({
    ...(stdin ? { stdin } : {}),
    ...(stdout ? { stdout } : {}),
    ...(stderr ? { stderr } : {}),
    tty: o.tty,
    onResize: (l) => resizes.listen(l),
    gone: gone.signal,
  });
  await Promise.all([stdout, stderr].map((w) => (w ? new Promise<void>((r) => w.end(() => r())) : undefined)));
  const status = encodeStatus(outcome, flavour.jsonStatus);
  if (status) await send(ERROR, status);
  ws.close(1000);
}
