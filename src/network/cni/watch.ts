// Notices CNI configuration that appears (or changes) after start-up — a network add-on usually
// installs its conflist once the node has joined — with inotify through fs.watch, never polling.
// Events come in bursts (create, write, rename); they are coalesced into one callback.
import { watch, type FSWatcher } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { OpContext } from '../../core/context.js';
import { CONF_EXTENSIONS } from './config.js';

export interface CniConfWatcher {
  close(): void;
}

/**
 * Calls `onChange` (debounced) whenever a configuration file in `dir` is created, changed,
 * renamed or removed; the caller reloads with loadCniConfig. Creates `dir` when missing, as
 * containerd does, so there is something to watch. Closes when `ctx.signal` aborts.
 */
export async function watchCniConfDir(
  ctx: OpContext,
  dir: string,
  onChange: () => void,
  opts: { debounceMs?: number } = {},
): Promise<CniConfWatcher> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const delay = opts.debounceMs ?? 50;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const fire = () => {
    timer = undefined;
    if (closed) return;
    try {
      onChange();
    } catch (e) {
      ctx.log.warn('CNI config change handler failed', { error: (e as Error).message });
    }
  };
  const watcher: FSWatcher = watch(dir, { persistent: false }, (_event, name) => {
    // No name (some kernels and overflows): assume it mattered.
    const file = name === null ? undefined : String(name);
    if (file !== undefined && (file.startsWith('.') || !CONF_EXTENSIONS.some((x) => file.endsWith(x)))) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(fire, delay);
  });
  const close = () => {
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    ctx.signal.removeEventListener('abort', close);
    watcher.close();
  };
  watcher.on('error', (e) => {
    // The directory itself went away: nothing more will come from this watch.
    ctx.log.warn('watching the CNI config dir stopped', { dir, error: e.message });
    close();
  });
  ctx.signal.addEventListener('abort', close, { once: true });
  return { close };
}
