// The error stream's last words. v4 and later (and the v4/v5 WebSocket protocols) carry a JSON
// metav1.Status, from which kubectl takes the exit code; older protocols a plain message, and
// nothing at all on success.
import type { CommandOutcome, TerminalSize } from './types.js';

const NON_ZERO = 'NonZeroExitCode';

function goList(argv: readonly string[]): string {
  return `[${argv.join(' ')}]`;
}

/** The metav1.Status kubelet's streaming server writes for this outcome. */
export function statusObject(outcome: CommandOutcome): Record<string, unknown> {
  if ('error' in outcome) {
    return {
      metadata: {},
      status: 'Failure',
      message: `Internal error occurred: ${outcome.error}`,
      reason: 'InternalError',
      details: { causes: [{ message: outcome.error }] },
      code: 500,
    };
  }
  if (outcome.exitCode === 0) return { metadata: {}, status: 'Success' };
  const what = outcome.command ? `error executing command ${goList(outcome.command)}, exit code ${outcome.exitCode}` : `exit code ${outcome.exitCode}`;
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: ${what}`,
    reason: NON_ZERO,
    details: { causes: [{ reason: 'ExitCode', message: String(outcome.exitCode) }] },
  };
}

/** What goes on the error stream: JSON for v4+, else the message of a failure (or nothing). */
export function encodeStatus(outcome: CommandOutcome, json: boolean): Buffer | undefined {
  const status = statusObject(outcome);
  if (json) return Buffer.from(JSON.stringify(status));
  return status.status === 'Success' ? undefined : Buffer.from(String(status.message));
}

/**
 * kubelet's TerminalSize holds uint16s: any other number is as malformed as bad JSON. Letting one
 * through crashed the daemon: -1 reached the attach frame writer as a RangeError, thrown from a
 * WebSocket 'message' handler (found by the terminal-resize fuzz target).
 */
const isU16 = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffff;

/** Parses the resize stream: JSON objects one after another ({"Width":80,"Height":24}). */
export class ResizeParser {
  private text = '';

  push(chunk: Buffer): { width: number; height: number }[] {
    this.text += chunk.toString('utf8');
    const out: { width: number; height: number }[] = [];
    for (;;) {
      const start = this.text.indexOf('{');
      const end = this.text.indexOf('}', start);
      if (start < 0 || end < 0) break;
      const raw = this.text.slice(start, end + 1);
      this.text = this.text.slice(end + 1);
      try {
        const v = JSON.parse(raw) as { Width?: unknown; Height?: unknown };
        if (isU16(v.Width) && isU16(v.Height)) out.push({ width: v.Width, height: v.Height });
      } catch {
        // A malformed size is skipped, as kubelet's decoder would stop on it; nothing else depends on it.
      }
    }
    if (this.text.length > 4096) this.text = '';
    return out;
  }
}

/**
 * Window sizes for whoever listens; a size that came before the command was ready (clients send
 * the first one at once) is handed to the first listener.
 */
export class Resizes {
  private readonly listeners: ((s: TerminalSize) => void)[] = [];
  private last: TerminalSize | undefined;

  emit(size: TerminalSize): void {
    this.last = size;
    for (const l of this.listeners) l(size);
  }

  listen(l: (s: TerminalSize) => void): void {
    this.listeners.push(l);
    if (this.last) l(this.last);
  }
}
