// Exec, Attach and PortForward answer with a URL of the streaming server; the work runs when the
// client connects there.
import type {
  AttachRequest,
  AttachResponse,
  ExecRequest,
  ExecResponse,
  PortForwardRequest,
  PortForwardResponse,
} from '../../generated/runtime/v1/api.js';
import type { Services } from '../services.js';
import type { UnaryHandler } from '../instrument.js';

export const exec =
  (s: Services): UnaryHandler<ExecRequest, ExecResponse> =>
  async (_ctx, req) => ({
    url: s.streams.exec({ containerId: req.containerId, cmd: req.cmd, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }),
  });

export const attach =
  (s: Services): UnaryHandler<AttachRequest, AttachResponse> =>
  async (_ctx, req) => ({
    url: s.streams.attach({ containerId: req.containerId, tty: req.tty, stdin: req.stdin, stdout: req.stdout, stderr: req.stderr }),
  });

export const portForward =
  (s: Services): UnaryHandler<PortForwardRequest, PortForwardResponse> =>
  async (_ctx, req) => ({ url: s.streams.portForward({ podSandboxId: req.podSandboxId }) });
