// A container shapes its writable layer as it likes: tens of thousands of files, directories
// nested past PATH_MAX. Removing the container must still remove all of it, and the daemon must
// keep answering other calls while it does.
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerConfig, ContainerState, PodSandboxConfig, type ContainerStatusResponse, type DeepPartial } from '../../src/generated/runtime/v1/api.js';
import { call } from '../support/daemon.js';
import { startBusyboxDaemon, type BusyboxDaemon } from '../support/busybox-daemon.js';

describe("removing a container whose writable layer it filled", function () {
  this.timeout(120_000);
  let bd: BusyboxDaemon | undefined;
  let logDir: string;

  before(async function () {
    bd = await startBusyboxDaemon();
    logDir = mkdtempSync(join(tmpdir(), 'skiff-logs-'));
  });
  after(async function () {
    await bd?.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('removes 20 000 files and a tree nested past PATH_MAX, answering Version within a second meanwhile', async function () {
    const d = bd!.d;
    const podConfig = PodSandboxConfig.fromPartial({
      metadata: { name: 'filler', namespace: 'default', uid: `uid-filler-${process.pid}`, attempt: 0 },
      logDirectory: logDir,
    });
    const podId = (await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: podConfig, runtimeHandler: '' })).podSandboxId;
    // 450 levels of 10-letter names: 4950 bytes of path, past PATH_MAX (4096); then many files.
    const fill = [
      'mkdir /many && cd /many && i=0 && while [ $i -lt 20000 ]; do : > f$i; i=$((i+1)); done',
      'cd / && i=0 && while [ $i -lt 450 ]; do mkdir dddddddddd && cd dddddddddd; i=$((i+1)); done && : > bottom',
    ].join(' && ');
    const config = ContainerConfig.fromPartial<DeepPartial<ContainerConfig>>({
      metadata: { name: 'filler', attempt: 0 },
      image: { image: bd!.image },
      command: ['/bin/sh', '-c', fill],
      logPath: 'filler.log',
    });
    const { containerId } = await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId: podId, config, sandboxConfig: podConfig });
    await call(d.runtime, 'startContainer', { containerId });
    for (let i = 0; i < 1200; i++) {
      const s = await call<object, ContainerStatusResponse>(d.runtime, 'containerStatus', { containerId });
      if (s.status?.state === ContainerState.CONTAINER_EXITED) {
        expect(s.status.exitCode, 'the container filled its layer').to.equal(0);
        break;
      }
      await sleep(50);
    }
    const writable = join(d.root, 'writable', containerId);
    expect(existsSync(join(writable, 'upper', 'many', 'f19999'))).to.equal(true);

    const missed: string[] = [];
    let removing = true;
    const probes = (async () => {
      while (removing) {
        await call(d.runtime, 'version', { version: 'v1' }, 1000).catch((e: Error) => missed.push(e.message));
        await sleep(50);
      }
    })();
    try {
      await call(d.runtime, 'removeContainer', { containerId }, 60_000);
    } finally {
      removing = false;
      await probes;
    }
    expect(missed).to.deep.equal([]);
    expect(existsSync(writable)).to.equal(false);
    await call(d.runtime, 'removePodSandbox', { podSandboxId: podId });
  });
});
