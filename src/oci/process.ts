// The process of a container: argv, environment and working directory, merged from the CRI config
// and the image config the way containerd (and so kubelet users) expect.
import { posix } from 'node:path';
import { invalidArgument } from '../core/errors.js';
import type { ContainerSpecInput, ImageProcessConfig } from './types.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

type ArgsInput = Pick<ContainerSpecInput, 'command' | 'args'> & { readonly image: Pick<ImageProcessConfig, 'entrypoint' | 'cmd'> };

/**
 * Kubernetes semantics (containerd's WithProcessArgs, after moby):
 * - CRI command given: command + CRI args; the image's Entrypoint and Cmd are both ignored.
 * - no command, CRI args given: image Entrypoint + CRI args.
 * - neither: image Entrypoint + image Cmd.
 * An image Entrypoint of [""] counts as none. An empty result is InvalidArgument.
 */
export function processArgs(input: ArgsInput): string[] {
  let command = [...input.command];
  let args = [...input.args];
  if (command.length === 0) {
    if (args.length === 0) args = [...input.image.cmd];
    const ep = input.image.entrypoint;
    if (!(ep.length === 1 && ep[0] === '')) command = [...ep];
  }
  const argv = [...command, ...args];
  if (argv.length === 0) throw invalidArgument('no command specified: the container config has no command or args and the image no Entrypoint or Cmd');
  if (argv[0] === '') throw invalidArgument('the command is an empty string');
  for (const a of argv) if (a.includes('\0')) throw invalidArgument('a command argument contains a NUL byte');
  return argv;
}

/** An ordered environment where a later set replaces a key in place and an unset removes it. */
class EnvList {
  private readonly entries: (string | undefined)[] = [];
  private readonly index = new Map<string, number>();

  set(key: string, value: string): void {
    const i = this.index.get(key);
    const entry = `${key}=${value}`;
    if (i !== undefined && this.entries[i] !== undefined) {
      this.entries[i] = entry;
    } else {
      this.index.set(key, this.entries.length);
      this.entries.push(entry);
    }
  }

  unset(key: string): void {
    const i = this.index.get(key);
    if (i === undefined) return;
    this.entries[i] = undefined;
    this.index.delete(key);
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  list(): string[] {
    return this.entries.filter((e): e is string => e !== undefined);
  }
}

function checkKey(key: string, where: string): void {
  if (key === '' || key.includes('=') || key.includes('\0')) {
    throw invalidArgument(`invalid environment variable name ${JSON.stringify(key)} in the ${where}`);
  }
}

type EnvInput = Pick<ContainerSpecInput, 'env' | 'tty' | 'hostname'> & { readonly image: Pick<ImageProcessConfig, 'env'> };

/**
 * The environment, in containerd's order: PATH (default unless the image or CRI sets it), TERM=xterm
 * for a tty, HOSTNAME, then the image's entries, then the CRI entries. A later entry replaces an
 * earlier one with the same key in place; an image entry without '=' unsets the key. HOME comes
 * last, from /etc/passwd (`home`), when nothing set it.
 */
export function processEnv(input: EnvInput, home?: string): string[] {
  const env = new EnvList();
  env.set('PATH', DEFAULT_PATH);
  if (input.tty) env.set('TERM', 'xterm');
  env.set('HOSTNAME', input.hostname);
  for (const e of input.image.env) {
    const eq = e.indexOf('=');
    if (eq < 0) {
      if (e !== '') env.unset(e);
      continue;
    }
    const key = e.slice(0, eq);
    checkKey(key, 'image config');
    env.set(key, e.slice(eq + 1));
  }
  for (const [key, value] of input.env) {
    checkKey(key, 'container config');
    if (value.includes('\0')) throw invalidArgument(`environment variable ${key} contains a NUL byte`);
    env.set(key, value);
  }
  if (home !== undefined && !env.has('HOME')) env.set('HOME', home);
  return env.list();
}

type CwdInput = Pick<ContainerSpecInput, 'workingDir'> & { readonly image: Pick<ImageProcessConfig, 'workingDir'> };

/** CRI working_dir, else the image's WorkingDir, else "/". A relative CRI dir is InvalidArgument. */
export function workingDir(input: CwdInput): string {
  if (input.workingDir !== '') {
    if (!input.workingDir.startsWith('/')) {
      throw invalidArgument(`working dir ${JSON.stringify(input.workingDir)} is not an absolute path`);
    }
    return posix.normalize(input.workingDir);
  }
  const img = input.image.workingDir;
  // Docker makes WORKDIR absolute at build time; anything else is taken relative to "/".
  if (img !== '') return posix.normalize(img.startsWith('/') ? img : `/${img}`);
  return '/';
}
