// Exec, Attach and PortForward: each RPC checks its request, binds the work to a one-shot URL of
// the streaming server, and the work runs when the client connects there (kubelet's model).
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../log/logger.js';
import { connectInPod, type DialNamespace } from '../../network/pod-connect.js';
import { AttachConnection } from '../../runtime/attach-connection.js';
import type { StreamingServer } from '../../streaming/server.js';
import type { CommandOutcome, CommandStreams } from '../../streaming/remotecommand/types.js';
import { backgroundContext } from '../context.js';
import { failedPrecondition, invalidArgument, toSkiffError } from '../errors.js';
import type { ContainerService } from '../container/container-service.js';
import type { SandboxService } from '../sandbox/sandbox-service.js';
import type { SandboxRecord } from '../sandbox/types.js';
import { relay } from './relay.js';

export interface StdioRequest {
  readonly containerId: string;
  readonly tty: boolean;
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
}

export interface StreamServiceDeps {
  readonly server: StreamingServer;
  readonly containers: ContainerService;
  readonly sandboxes: SandboxService;
  readonly log: Logger;
}

/** kubelet's checks (its streaming server validates the same way, with the same words). */
function checkStdio(req: StdioRequest): void {
  if (!req.containerId) throw invalidArgument('missing required container_id');
  if (req.tty && req.stderr) throw invalidArgument('tty and stderr cannot both be true');
  if (!req.stdin && !req.stdout && !req.stderr) throw invalidArgument('one of stdin, stdout, or stderr must be set');
}

const message = (e: unknown) => toSkiffError(e).message;

export class StreamService {
  constructor(private readonly d: StreamServiceDeps) {}

  exec(req: StdioRequest & { readonly cmd: readonly string[] }): string {
    checkStdio(req);
    const r = this.d.containers.exec.check(req.containerId, req.cmd);
    const id = r.id;
    const cmd = [...req.cmd];
    return this.d.server.url({
      kind: 'exec',
      target: id,
      streams: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, tty: req.tty },
      run: (s) => this.runExec(id, cmd, s),
    });
  }

  attach(req: StdioRequest): string {
    checkStdio(req);
    const r = this.d.containers.get(req.containerId);
    if (r.state !== 'running') throw failedPrecondition(`container ${r.id} is not running`);
    if (!this.d.containers.attachSocket(r.id)) throw failedPrecondition(`container ${r.id} has no attach socket (its path would be too long)`);
    const id = r.id;
    return this.d.server.url({
      kind: 'attach',
      target: id,
      streams: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, tty: req.tty },
      run: (s) => this.runAttach(id, s),
    });
  }

  portForward(req: { readonly podSandboxId: string }): string {
    if (!req.podSandboxId) throw invalidArgument('missing required pod_sandbox_id');
    const pod = this.d.sandboxes.get(req.podSandboxId);
    if (pod.state !== 'ready') throw failedPrecondition(`pod sandbox ${pod.id} is not ready`);
    const id = pod.id;
    return this.d.server.url({
      kind: 'portforward',
      target: id,
      forward: (port, stream, gone) => this.forward(id, port, stream, gone),
    });
  }

  private async runExec(id: string, cmd: string[], s: CommandStreams): Promise<CommandOutcome> {
    const sessionId = `exec-${randomBytes(8).toString('hex')}`;
    const log = this.d.log.child({ container: id, exec: sessionId });
    const ctx = backgroundContext(log, 60_000);
    let session;
    try {
      session = await this.d.containers.exec.session(ctx, id, cmd, { tty: s.tty, stdin: s.stdin !== undefined || s.tty, sessionId });
    } catch (e) {
      log.warn('exec could not start', { error: message(e) });
      return { error: `error executing command in container: ${message(e)}` };
    }
    log.info('exec started', { cmd });
    relay(session.io, s, { stdin: true, closeStdinAtEnd: true });
    // The monitor kills the command too when our end of its socket closes; this is quicker.
    const onGone = () => session.kill();
    s.gone.addEventListener('abort', onGone, { once: true });
    // The client may have left while the command was starting.
    if (s.gone.aborted) onGone();
    try {
      const status = await session.wait();
      log.info('exec ended', { exitCode: status.exitCode });
      return { exitCode: status.exitCode, command: cmd };
    } catch (e) {
      return { error: `error executing command in container: ${message(e)}` };
    } finally {
      s.gone.removeEventListener('abort', onGone);
    }
  }

  private async runAttach(id: string, s: CommandStreams): Promise<CommandOutcome> {
    const log = this.d.log.child({ container: id });
    let r;
    let io: AttachConnection;
    try {
      r = this.d.containers.get(id);
      const path = this.d.containers.attachSocket(id);
      if (r.state !== 'running' || !path) throw failedPrecondition(`container ${id} is not running`);
      io = await AttachConnection.connect(path);
    } catch (e) {
      return { error: `error attaching to container: ${message(e)}` };
    }
    log.info('attached');
    relay(io, s, { stdin: r.stdin, closeStdinAtEnd: r.stdinOnce === true });
    await new Promise<void>((resolve) => {
      const leave = () => {
        io.close();
        resolve();
      };
      if (io.isEnded) return resolve();
      io.once('end', resolve);
      // Checked after the connect: the client may have left meanwhile (it holds a monitor slot).
      if (s.gone.aborted) return leave();
      s.gone.addEventListener('abort', leave, { once: true });
    });
    log.info('detached');
    return { exitCode: 0 };
  }

  private async forward(podId: string, port: number, stream: Duplex, gone: AbortSignal): Promise<void> {
    const pod = this.d.sandboxes.find(podId);
    if (!pod) throw failedPrecondition(`pod sandbox ${podId} was removed`);
    const sock = await connectInPod(dialNamespace(pod), port);
    this.d.log.debug('port-forward connection', { pod: podId, port });
    await joinConnection(stream, sock, gone);
  }
}

/**
 * Checked again at each forwarded connection, since a URL outlives the RPC that made it: a pod
 * stopped meanwhile has no network namespace any more, and its connections are refused rather
 * than dialled in the host's (as containerd refuses them). Only a host-network pod uses the host's.
 */
export function dialNamespace(pod: Pick<SandboxRecord, 'id' | 'state' | 'ns' | 'spec'>): DialNamespace {
  if (pod.state !== 'ready') throw failedPrecondition(`pod sandbox ${pod.id} is not ready: port forwarding needs a running pod`);
  if (pod.spec.namespaces.network === 'node') return { host: true };
  if (!pod.ns.net) throw failedPrecondition(`pod sandbox ${pod.id} has no network namespace`);
  return { netnsPath: pod.ns.net };
}

/** As containerd does: once one direction is done, the other gets this long to finish. */
const HALF_CLOSE_GRACE_MS = 1000;

/**
 * Copies both ways with half-closes (a request/response protocol sees its EOF), and ends when both
 * directions are done, when either side resets, or when the client's connection goes. The client
 * always learns the end: its data stream gets FIN (or is already gone).
 */
function joinConnection(stream: Duplex, sock: Socket, gone: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    let finished = false;
    let grace: NodeJS.Timeout | undefined;
    let done = 0;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(grace);
      gone.removeEventListener('abort', finish);
      sock.unpipe(stream);
      sock.destroy();
      if (!stream.destroyed && !stream.writableEnded) stream.end();
      resolve();
    };
    const directionDone = () => {
      if (++done === 2) finish();
      else grace ??= setTimeout(finish, HALF_CLOSE_GRACE_MS);
    };
    gone.addEventListener('abort', finish, { once: true });
    stream.pipe(sock).on('finish', directionDone);
    sock.pipe(stream).on('finish', directionDone);
    // A reset data stream (kubectl resets it once either direction ends), a reset pod socket.
    stream.on('close', finish);
    sock.on('error', finish);
    sock.on('close', finish);
  });
}
