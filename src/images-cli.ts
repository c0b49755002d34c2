// `skiffd images import FILE`: hands the archive to the running daemon over its socket (so its
// in-memory store sees the images at once), or, when no daemon runs, imports directly while
// holding the daemon's lock so that none can start meanwhile.
import { resolve } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { AdminClient, type ImportImagesResponse } from './generated/skiff/v1/admin.js';
import { ConfigError } from './config/schema.js';
import { loadConfig } from './config/load.js';
import { fatal, parseCli, UsageError } from './cli.js';
import { createLogger } from './log/logger.js';
import { realSys } from './sys/index.js';
import { Paths } from './state/paths.js';
import { acquireDaemonLock } from './state/daemon-lock.js';
import { privateDirs, securePrivateDirs } from './state/private-dirs.js';
import { backgroundContext } from './core/context.js';
import { isSkiffError } from './core/errors.js';
import { openImageService } from './compose.js';

type Imported = ImportImagesResponse['images'];

function viaDaemon(socket: string, path: string): Promise<Imported | 'no-daemon'> {
  const client = new AdminClient(`unix://${socket}`, credentials.createInsecure());
  return new Promise((done, fail) => {
    // A daemon that is not there fails fast with UNAVAILABLE; an import may take long.
    client.importImages(
      { path },
      new Metadata({ waitForReady: false }),
      { deadline: new Date(Date.now() + 3_600_000) },
      (err: ServiceError | null, res?: ImportImagesResponse) => {
        client.close();
        if (err?.code === status.UNAVAILABLE && /connect|No connection|ENOENT|ECONNREFUSED/i.test(err.details)) done('no-daemon');
        else if (err) fail(err);
        else done(res?.images ?? []);
      },
    );
  });
}

export async function imagesCommand(argv: string[]): Promise<number> {
  let cli;
  try {
    cli = parseCli(argv, true);
  } catch (e) {
    if (e instanceof UsageError) return fatal(`${e.message} (see skiffd --help)`, 2);
    throw e;
  }
  const [verb, file, ...extra] = cli.positionals;
  if (verb !== 'import' || file === undefined || extra.length > 0) {
    return fatal('usage: skiffd images import FILE [--config FILE] [--root DIR] [--state DIR] [--socket PATH]', 2);
  }
  let config;
  try {
    ({ config } = await loadConfig(cli.configPath, cli.overrides));
  } catch (e) {
    if (e instanceof ConfigError) return fatal(`invalid configuration: ${e.message}`, 2);
    throw e;
  }
  const path = resolve(file);
  const paths = new Paths({ root: config.root, state: config.state });
  const socket = config.socket || paths.defaultSocket;
  let images: Imported;
  try {
    const answer = await viaDaemon(socket, path);
    if (answer === 'no-daemon') {
      const log = createLogger({ level: config.logLevel, format: config.logFormat });
      const sys = realSys();
      await securePrivateDirs(privateDirs(paths), log);
      const lock = acquireDaemonLock(sys, paths.lockFile);
      try {
        const { images: svc } = await openImageService(config, paths, log, sys);
        const views = await svc.importArchive(backgroundContext(log), path);
        images = views.map((v) => ({ id: v.record.id, repoTags: [...v.record.repoTags] }));
      } finally {
        lock.release();
      }
    } else {
      images = answer;
    }
  } catch (e) {
    if (isSkiffError(e)) return fatal(e.message, 1);
    if ((e as ServiceError).details !== undefined) return fatal((e as ServiceError).details, 1);
    throw e;
  }
  for (const img of images) process.stdout.write(`${img.id} ${img.repoTags.join(' ') || '<untagged>'}\n`);
  return 0;
}
