// A real Distribution registry (Debian's docker-registry) on 127.0.0.1, one per test suite, with
// storage in a temp dir so suites never see each other's blobs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpRequest } from './http.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
export const HTPASSWD_REALM = 'skiff-test';

export interface RegistryAuth {
  user: string;
  password: string;
}

export interface StartRegistryOptions {
  htpasswd?: RegistryAuth;
  /** Milliseconds to wait for GET /v2/ to answer. */
  readyTimeoutMs?: number;
}

export interface TestRegistry {
  /** "127.0.0.1:<port>", the host part of image references. */
  host: string;
  url: string;
  /** The credentials the registry demands, when started with htpasswd. */
  auth?: RegistryAuth;
  /** The registry's stderr so far, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

const MAX_LOG = 64 * 1024;

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  if (!existsSync(REGISTRY_BINARY)) {
    throw new Error(`${REGISTRY_BINARY} missing: apt-get install -y docker-registry`);
  }
  let lastError: unknown;
  // The port is free when we probe it but another process may take it before the registry
  // binds; that shows up as an early exit, and a new port is the cure.
  for (let attempt = 0; attempt < 5; attempt++) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-registry-'));
    try {
      return await startOnce(dir, await freePort(), opts);
    } catch (err) {
      lastError = err;
      await rm(dir, { recursive: true, force: true });
      if (!(err instanceof PortInUseError)) throw err;
    }
  }
  throw lastError;
}

class PortInUseError extends Error {}

async function startOnce(dir: string, port: number, opts: StartRegistryOptions): Promise<TestRegistry> {
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const configPath = path.join(dir, 'config.yml');
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'info', formatter: 'text', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: path.join(dir, 'data') },
      delete: { enabled: true },
      cache: { blobdescriptor: 'inmemory' },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: host, secret: randomBytes(16).toString('hex') },
    health: { storagedriver: { enabled: false } },
  };
  if (opts.htpasswd) {
    const htpasswdPath = path.join(dir, 'htpasswd');
    await writeFile(htpasswdPath, bcryptHtpasswd(opts.htpasswd));
    config.auth = { htpasswd: { realm: HTPASSWD_REALM, path: htpasswdPath } };
  }
  // JSON is YAML, and the registry reads it as such.
  await writeFile(configPath, JSON.stringify(config, null, 2));

  const child = spawnRegistry(configPath);
  let logs = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    logs = (logs + s).slice(-MAX_LOG);
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const killOnExit = () => {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (!hasExited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitReady(url, opts.readyTimeoutMs ?? 10_000, () => hasExited, Boolean(opts.htpasswd));
  } catch (err) {
    await stop();
    if (/address already in use/.test(logs)) throw new PortInUseError(`port ${port} taken`);
    throw new Error(`${(err as Error).message}; registry log:\n${logs}`);
  }
  return { host, url, auth: opts.htpasswd, logs: () => logs, stop };
}

function spawnRegistry(configPath: string): ChildProcess {
  // The 'exit' handler cannot run when the test process is SIGKILLed; a parent-death signal
  // covers that case where util-linux's setpriv is available.
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
  const argv = setpriv
    ? [setpriv, '--pdeathsig', 'KILL', '--', REGISTRY_BINARY, 'serve', configPath]
    : [REGISTRY_BINARY, 'serve', configPath];
  return spawn(argv[0]!, argv.slice(1), {
    detached: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    // No proxy variables: the registry must not try to route 127.0.0.1 anywhere else.
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: path.dirname(configPath) },
  });
}

async function waitReady(url: string, timeoutMs: number, exited: () => boolean, auth: boolean) {
  const deadline = Date.now() + timeoutMs;
  const okStatus = auth ? 401 : 200;
  while (Date.now() < deadline) {
    if (exited()) throw new Error('registry exited during start-up');
    try {
      const res = await httpRequest(`${url}/v2/`);
      if (res.status === okStatus) return;
      throw new Error(`GET /v2/ answered ${res.status}, expected ${okStatus}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw err;
    }
    await sleep(20);
  }
  throw new Error(`registry at ${url} not ready after ${timeoutMs} ms`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** One htpasswd line with a bcrypt hash (the only scheme the registry accepts), via apache2-utils. */
export function bcryptHtpasswd(auth: RegistryAuth): string {
  const r = spawnSync('htpasswd', ['-nbB', '-C', '5', auth.user, auth.password], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`htpasswd failed (apt-get install -y apache2-utils): ${r.error?.message ?? r.stderr}`);
  }
  return r.stdout.trim() + '\n';
}
