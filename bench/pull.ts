// Pull + unpack of an image of ~100 MB incompressible content from a registry on 127.0.0.1,
// through skiffd's socket, beside `curl | gunzip | tar -x` of the same blobs (layers in
// parallel, like the pull) in the same run. Prints medians in MB/s and the ratio.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, TestDaemon } from '../test/support/daemon.js';
import { startRegistry } from '../test/support/registry.js';
import { pushBigImage } from '../test/support/big-image.js';
import { median, report } from './stats.js';

const spec = (image: string) => ({ image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' });

function curlGunzipTar(url: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // The peer pipeline is a shell pipe by nature; the URL and dir come from this script only.
    const p = spawn('sh', ['-c', 'curl -sf "$0" | gunzip | tar -x -C "$1"', url, dir], { stdio: 'inherit' });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`peer pipeline exited ${code}`))));
  });
}

export async function benchPull(opts: { sizeMB?: number; runs?: number } = {}): Promise<void> {
  const sizeMB = opts.sizeMB ?? 100;
  const runs = opts.runs ?? 3;
  const reg = await startRegistry();
  const big = await pushBigImage(reg.url, sizeMB, { layers: 4 });
  const d = await TestDaemon.create(`registry:\n  insecure: ["${reg.host}"]\nlogLevel: warn\n`);
  try {
    await d.start();
    const ref = big.pushed.refs[0] as string;
    const mb = big.totalSize / 1e6;
    const ours: number[] = [];
    const peer: number[] = [];
    for (let i = 0; i < runs; i++) {
      let t = process.hrtime.bigint();
      await call(d.images, 'pullImage', { image: spec(ref) }, 120_000);
      ours.push(mb / (Number(process.hrtime.bigint() - t) / 1e9));
      await call(d.images, 'removeImage', { image: spec(ref) });

      const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-peer-'));
      try {
        t = process.hrtime.bigint();
        await Promise.all(
          big.pushed.layerDigests.map((dg, n) =>
            mkdir(join(dir, String(n))).then(() =>
              curlGunzipTar(`${reg.url}/v2/${big.pushed.repo}/blobs/${dg}`, join(dir, String(n))),
            ),
          ),
        );
        peer.push(mb / (Number(process.hrtime.bigint() - t) / 1e9));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    report(`pull+unpack ${Math.round(mb)} MB, ${big.pushed.layerDigests.length} layers`, {
      'skiff_MB/s': median(ours),
      'curl|gunzip|tar_MB/s': median(peer),
      ratio: median(ours) / median(peer),
      runs,
    });
  } finally {
    await d.stop();
    await d.cleanup();
    await big.cleanup();
    await reg.stop();
  }
}
