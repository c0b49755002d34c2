// What a remote command (exec or attach) sees of its client, whichever protocol carries it.
import type { Readable, Writable } from 'node:stream';

export interface TerminalSize {
  readonly width: number;
  readonly height: number;
}

export interface StreamOptions {
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly tty: boolean;
}

export interface CommandStreams {
  /** Ends when the client closes its stdin (SPDY FIN, WebSocket v5 close). */
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  readonly tty: boolean;
  /** Window sizes the client sends (tty sessions). */
  onResize(listener: (size: TerminalSize) => void): void;
  /** Aborted when the client has gone away. */
  readonly gone: AbortSignal;
}

/** How the command ended, as the client is told on the error stream. */
export type CommandOutcome =
  | { readonly exitCode: number; readonly command?: readonly string[] }
  | { readonly error: string };

export type CommandRunner = (streams: CommandStreams) => Promise<CommandOutcome>;
