// What every executor shares: skiff-monitor watches the container whichever runs it, so exits,
// exit files, log reopening and streamed exec sessions work the same way.
import { rm } from 'node:fs/promises';
import type { OpContext } from '../core/context.js';
import { internal } from '../core/errors.js';
import { socketPair } from '../sys/socket-calls.js';
import { closeSync } from 'node:fs';
import { AttachConnection } from './attach-connection.js';
import type {
  ContainerExecutor,
  ExecRequest,
  ExecResult,
  ExecSession,
  ExecSessionRequest,
  ExitStatus,
  StartRequest,
  Started,
} from './executor.js';
import type { HelperProgram, HelperRunner } from './helper-exec.js';
import { readExitFile, reopenLog, startMonitor, watchExits } from './monitor.js';

export abstract class MonitoredExecutor implements ContainerExecutor {
  constructor(protected readonly helpers: HelperRunner) {}

  abstract start(ctx: OpContext, req: StartRequest): Promise<Started>;
  abstract exec(ctx: OpContext, req: ExecRequest): Promise<ExecResult>;
  /** The argv that runs the command inside the running container. */
  protected abstract execArgv(req: ExecSessionRequest['target'], tty: boolean): string[];
  /**
   * A sealed image, made for one session, that the monitor execs instead of looking execArgv's
   * argv[0] up (MonitorOptions.executorFd); closed once the monitor has started.
   */
  protected execImage(): HelperProgram | undefined {
    return undefined;
  }

  /**
   * The command runs under a monitor of its own (pty or pipes, like a container), which takes our
   * end of a socket pair as its attach client from the first byte on. Its log goes nowhere: an
   * exec's output belongs to the client, as with containerd.
   */
  async execSession(ctx: OpContext, req: ExecSessionRequest): Promise<ExecSession> {
    const argv = this.execArgv(req.target, req.tty);
    const [ours, theirs] = socketPair();
    let image: HelperProgram | undefined;
    let started;
    try {
      image = this.execImage();
      started = await startMonitor(ctx, this.helpers, {
        id: req.sessionId,
        exitFile: req.exitFile,
        logPath: '/dev/null',
        stdin: req.stdin,
        tty: req.tty,
        attachFd: theirs,
        executor: argv,
        ...(image?.fd !== undefined ? { executorFd: image.fd } : {}),
      });
    } catch (e) {
      closeSync(ours);
      throw e;
    } finally {
      closeSync(theirs);
      image?.close();
    }
    const io = AttachConnection.fromFd(ours);
    // Once the monitor let go of us the process has exited: its pid may be reused, never killed.
    let done = io.isEnded;
    const ended = new Promise<void>((resolve) => {
      if (io.isEnded) return resolve();
      io.once('end', () => {
        done = true;
        resolve();
      });
    });
    return {
      io,
      wait: async (): Promise<ExitStatus> => {
        await ended;
        done = true;
        const status = await readExitFile(req.exitFile);
        await rm(req.exitFile, { force: true });
        if (!status) throw internal(`exec session ${req.sessionId}: its monitor ended without an exit file`);
        return status;
      },
      kill: () => {
        if (done) return;
        // The executor leads a process group of its own (the monitor starts it in a new
        // session): skiff-init's waiting parent, runc exec and what stayed in their group go
        // together; skiff-init's child also dies with its parent (parent-death signal).
        for (const target of [-started.pid, started.pid]) {
          try {
            process.kill(target, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      },
    };
  }

  readExit(exitFile: string): Promise<ExitStatus | undefined> {
    return readExitFile(exitFile);
  }

  watchExits(exitsDir: string, onExit: (id: string) => void): { close(): void } {
    return watchExits(exitsDir, onExit);
  }

  reopenLog(monitorPid: number): void {
    reopenLog(monitorPid);
  }
}
