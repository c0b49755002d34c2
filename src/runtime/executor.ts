// What the container service needs from the process side: start a container under
// its monitor, enter a running one, and learn of exits. The core depends on this interface only.
import type { OpContext } from '../core/context.js';
import type { AttachConnection } from './attach-connection.js';

export interface StartRequest {
  readonly id: string;
  readonly bundleDir: string;
  readonly logPath: string;
  readonly exitFile: string;
  /** cgroup.procs files the container joins before anything else. */
  readonly cgroupProcs: readonly string[];
  /** A memory cgroup dir whose OOM kills the monitor watches. */
  readonly oomCgroup?: string;
  readonly tty: boolean;
  readonly stdin: boolean;
  /** Where the monitor listens for attach clients (CRI Attach). */
  readonly attachSocket?: string;
}

export interface Started {
  readonly pid: number;
  readonly startTime: number;
  readonly monitorPid: number;
}

export interface ExecRequest {
  /** The container's id (OCI runtimes address containers by id) and its pid (skiff-init by pid). */
  readonly id: string;
  readonly pid: number;
  /** The pid's start time as recorded at start: a process with another one is never entered. */
  readonly pidStartTime: number;
  /** The container's bundle: its confinement applies to the exec too. */
  readonly bundleDir: string;
  readonly cgroupProcs: readonly string[];
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  readonly env: readonly string[];
  readonly argv: readonly string[];
  /** 0 = no timeout. On a timeout the command and everything it started are killed. */
  readonly timeoutMs: number;
  /** stdout and stderr together; the rest is read and dropped. */
  readonly maxOutputBytes: number;
  /** After the command exits, how long output held open by its background children is awaited. */
  readonly drainMs: number;
}

/** A command run inside the container whose stdio streams to a client (CRI Exec). */
export interface ExecSessionRequest {
  /** Names the session's monitor (--id) and its exit file. */
  readonly sessionId: string;
  readonly exitFile: string;
  readonly target: Omit<ExecRequest, 'timeoutMs' | 'maxOutputBytes' | 'drainMs'>;
  readonly tty: boolean;
  readonly stdin: boolean;
}

export interface ExecSession {
  /** The command's stdio: output frames in, stdin and window sizes out. */
  readonly io: AttachConnection;
  /** Resolves when the command has exited and all its output has come through `io`. */
  wait(): Promise<ExitStatus>;
  /** Ends the command (the client went away). */
  kill(): void;
}

export interface ExecResult {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly exitCode: number;
  /** The output went past maxOutputBytes and was cut. */
  readonly truncated: boolean;
}

export interface ExitStatus {
  readonly exitCode: number;
  readonly signal: number;
  readonly finishedAt: string;
  readonly oomKilled: boolean;
}

export interface ContainerExecutor {
  start(ctx: OpContext, req: StartRequest): Promise<Started>;
  exec(ctx: OpContext, req: ExecRequest): Promise<ExecResult>;
  execSession(ctx: OpContext, req: ExecSessionRequest): Promise<ExecSession>;
  readExit(exitFile: string): Promise<ExitStatus | undefined>;
  /** Calls `onExit(id)` when `<exitsDir>/<id>` appears. */
  watchExits(exitsDir: string, onExit: (id: string) => void): { close(): void };
  reopenLog(monitorPid: number): void;
  /** Forgets the container after RemoveContainer (an OCI runtime keeps state); optional. */
  cleanup?(ctx: OpContext, id: string): Promise<void>;
}
