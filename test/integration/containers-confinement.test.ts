// What a default container cannot do to the kernel, shown with the errno each refusal comes with,
// next to a container that is allowed further (so each assertion would fail if the refusal
// stopped): loading a module (busybox insmod) and the kernel keyring (a tiny static probe built
// here with gcc and added to the busybox image as a layer; busybox has no keyctl applet).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerConfig, ContainerState, PodSandboxConfig, type ContainerStatusResponse, type DeepPartial } from '../../src/generated/runtime/v1/api.js';
import { call, TestDaemon } from '../support/daemon.js';
import { imageSpec } from '../support/grpc.js';
import { buildImage, busyboxLayer, pushImage, ROOT_CONFIG, tarLayer } from '../support/image-builder.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

/** Tries each syscall named in argv and prints "<name>=ok" or "<name>=errno <n>". */
const PROBE_C = `
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#define KEY_SPEC_PROCESS_KEYRING -2
#define KEYCTL_JOIN_SESSION_KEYRING 1
static void report(const char *name, long rc) {
  if (rc < 0) printf("%s=errno %d\\n", name, errno); else printf("%s=ok\\n", name);
}
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *n = argv[i];
    if (!strcmp(n, "add_key")) report(n, syscall(SYS_add_key, "user", "skiff-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
    else if (!strcmp(n, "keyctl")) report(n, syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "skiff-probe"));
    else if (!strcmp(n, "clock_settime")) {
      struct timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      report(n, syscall(SYS_clock_settime, CLOCK_REALTIME, &now));
    } else printf("%s=unknown\\n", n);
  }
  return 0;
}
`;
const EPERM = 1;

describe('container confinement against the kernel: modules and keyrings', function () {
  this.timeout(60_000);
  let reg: TestRegistry;
  let d: TestDaemon;
  let logDir: string;
  let buildDir: string;
  let podId: string;
  let podConfig: PodSandboxConfig;
  let image: string;
  let seq = 0;

  before(async function () {
    buildDir = mkdtempSync(join(tmpdir(), 'skiff-probe-'));
    writeFileSync(join(buildDir, 'probe.c'), PROBE_C);
    execFileSync('gcc', ['-static', '-O2', '-o', join(buildDir, 'probe'), join(buildDir, 'probe.c')], { stdio: 'pipe' });
    reg = await startRegistry();
    const layers = await Promise.all([
      busyboxLayer({ gzip: true }),
      tarLayer(
        [
          { path: 'usr/local/bin', type: 'dir' },
          { path: 'usr/local/bin/probe', type: 'file', content: readFileSync(join(buildDir, 'probe')), mode: 0o755 },
          // Any file will do: the refusal comes before the kernel reads it as a module.
          { path: 'not-a-module.ko', type: 'file', content: Buffer.alloc(4096) },
        ],
        { gzip: true },
      ),
    ]);
    await pushImage(reg.url, 'skiff-test/probe', '1.0', buildImage({ layers, config: ROOT_CONFIG }));
    image = `${reg.host}/skiff-test/probe:1.0`;
    d = await TestDaemon.create(`registry:\n  insecure: ["${reg.host}"]\n`);
    await d.start();
    await call(d.images, 'pullImage', { image: imageSpec(image) }, 30_000);
    logDir = mkdtempSync(join(tmpdir(), 'skiff-confine-logs-'));
    podConfig = PodSandboxConfig.fromPartial({
      metadata: { name: 'confine-pod', namespace: 'default', uid: `uid-confine-${process.pid}`, attempt: 0 },
      logDirectory: logDir,
    });
    podId = (await call<object, { podSandboxId: string }>(d.runtime, 'runPodSandbox', { config: podConfig, runtimeHandler: '' })).podSandboxId;
  });
  after(async function () {
    await d?.cleanup();
    await reg?.stop();
    for (const dir of [logDir, buildDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the command to its exit and returns its log's text, prefixes stripped. */
  async function output(command: string[], over: DeepPartial<ContainerConfig> = {}): Promise<string> {
    const name = `p${++seq}`;
    const config = ContainerConfig.fromPartial<DeepPartial<ContainerConfig>>({
      metadata: { name, attempt: 0 },
      image: { image },
      logPath: `${name}.log`,
      command,
      ...over,
    });
    const { containerId } = await call<object, { containerId: string }>(d.runtime, 'createContainer', { podSandboxId: podId, config, sandboxConfig: podConfig });
    await call(d.runtime, 'startContainer', { containerId });
    for (let i = 0; i < 400; i++) {
      const s = await call<object, ContainerStatusResponse>(d.runtime, 'containerStatus', { containerId, verbose: false });
      if (s.status?.state === ContainerState.CONTAINER_EXITED) {
        await call(d.runtime, 'removeContainer', { containerId });
        const log = readFileSync(join(logDir, `${name}.log`), 'utf8');
        return log.split('\n').map((l) => l.split(' ').slice(3).join(' ')).join('\n');
      }
      await sleep(25);
    }
    throw new Error(`container ${containerId} did not exit`);
  }

  const RUNTIME_DEFAULT = { linux: { securityContext: { seccomp: { profileType: 0 } } } };
  const PRIVILEGED = { linux: { securityContext: { privileged: true, seccomp: { profileType: 0 } } } };
  const insmod = ['/bin/sh', '-c', 'insmod /not-a-module.ko; echo insmod=$?'];

  it('refuses module loading to a default container with EPERM, where a privileged one reaches the kernel', async function () {
    const confined = await output(insmod, RUNTIME_DEFAULT);
    expect(confined).to.contain("insmod: can't insert '/not-a-module.ko': Operation not permitted").and.to.match(/^insmod=1$/m);
    // Without the filter and with every capability, init_module reaches the module loader, which
    // refuses 4096 zero bytes (ENOEXEC), or the kernel has no loader at all (ENOSYS, as on the
    // 2-core VM, built without CONFIG_MODULES): either way it is not the container's EPERM.
    const privileged = await output(insmod, PRIVILEGED);
    expect(privileged).to.match(/can't insert '\/not-a-module.ko': (invalid module format|kernel does not support requested operation)/);
    expect(privileged).to.not.contain('Operation not permitted');
    if (!existsSync('/proc/modules')) {
      // No loader: a container without the filter gets ENOSYS before any capability check, so
      // here only seccomp is shown refusing; on a kernel with modules CAP_SYS_MODULE would too.
      expect(await output(insmod)).to.contain('kernel does not support requested operation');
    } else {
      expect(await output(insmod)).to.contain('Operation not permitted');
    }
  });

  it('refuses the kernel keyring (add_key, keyctl) under RuntimeDefault, which root without the filter may use', async function () {
    const confined = await output(['/usr/local/bin/probe', 'add_key', 'keyctl', 'clock_settime'], RUNTIME_DEFAULT);
    expect(confined).to.contain(`add_key=errno ${EPERM}`).and.to.contain(`keyctl=errno ${EPERM}`).and.to.contain(`clock_settime=errno ${EPERM}`);
    // The keyring needs no capability: only the filter stood in the way.
    const unconfined = await output(['/usr/local/bin/probe', 'add_key', 'keyctl']);
    expect(unconfined).to.contain('add_key=ok').and.to.contain('keyctl=ok');
    // Setting the clock does need CAP_SYS_TIME, which the default set lacks: refused without the filter too.
    expect(await output(['/usr/local/bin/probe', 'clock_settime'])).to.contain(`clock_settime=errno ${EPERM}`);
  });
});
