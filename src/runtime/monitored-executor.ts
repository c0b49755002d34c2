// What every executor shares: skiff-monitor watches the container whichever runs it, so exits,
// exit files and log reopening work the same way.
import type { OpContext } from '../core/context.js';
import type { ContainerExecutor, ExecRequest, ExecResult, ExitStatus, StartRequest, Started } from './executor.js';
import { readExitFile, reopenLog, watchExits } from './monitor.js';

export abstract class MonitoredExecutor implements ContainerExecutor {
  abstract start(ctx: OpContext, req: StartRequest): Promise<Started>;
  abstract exec(ctx: OpContext, req: ExecRequest): Promise<ExecResult>;

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
