// The usual start of a test that runs containers: a registry on 127.0.0.1 with the standard
// busybox images, a daemon that trusts it, and the root busybox image pulled.
import { call, TestDaemon } from './daemon.js';
import { imageSpec } from './grpc.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { pushStandardImages } from './standard-images.js';

export interface BusyboxDaemon {
  readonly reg: TestRegistry;
  readonly d: TestDaemon;
  /** busybox-root:1.0 on the test registry, pulled. */
  readonly image: string;
  /** Stops the daemon (cleaning up what it left) and the registry. */
  close(): Promise<void>;
}

export async function startBusyboxDaemon(extraYaml = ''): Promise<BusyboxDaemon> {
  const reg = await startRegistry();
  let d: TestDaemon | undefined;
  try {
    await pushStandardImages(reg.url);
    d = await TestDaemon.create(`registry:\n  insecure: ["${reg.host}"]\n${extraYaml}`);
    await d.start();
    const image = `${reg.host}/skiff-test/busybox-root:1.0`;
    await call(d.images, 'pullImage', { image: imageSpec(image) }, 60_000);
    const daemon = d;
    return {
      reg,
      d: daemon,
      image,
      close: async () => {
        await daemon.cleanup();
        await reg.stop();
      },
    };
  } catch (e) {
    await d?.cleanup();
    await reg.stop();
    throw e;
  }
}
