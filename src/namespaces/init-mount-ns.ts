// The mount namespace every pod's pid init lives in: nothing but an empty read-only tmpfs, so
// /proc/1/root, /proc/1/cwd and /proc/1/mountinfo show a shared-PID pod nothing of the node
// (native-helpers/README.md, "skiff-pinns"). skiff-pinns makes it once, when the daemon starts,
// and sends it back over a socket; the daemon holds it by that fd alone (no pin, nothing on disk
// to clean up) and hands it to each pinns run that starts an init. After a restart a new daemon
// makes a new one; the inits of earlier pods keep the one they joined alive until they exit.
import { closeSync } from 'node:fs';
import type { OpContext } from '../core/context.js';
import { toSkiffError } from '../core/errors.js';
import type { HelperRunner } from '../runtime/helper-exec.js';
import { receiveFd, socketPair } from '../sys/socket-calls.js';

/** Where skiff-pinns finds the socket, and later the namespace: its fd 3. */
export const INIT_MOUNT_NS_FD = 3;
/** Above the fds a spawn hands a child (see runtime/helper-images.ts). */
const MIN_FD = 64;

/** An fd of a new empty mount namespace, close-on-exec; the daemon keeps it for its lifetime. */
export async function createInitMountNs(ctx: OpContext, helpers: HelperRunner): Promise<number> {
  const [ours, theirs] = socketPair();
  try {
    await helpers.run(ctx, 'pinns', ['--empty-mount-ns', String(INIT_MOUNT_NS_FD)], { inherit: [{ fd: theirs, as: INIT_MOUNT_NS_FD }] });
    return receiveFd(ours, MIN_FD);
  } catch (e) {
    throw toSkiffError(e, 'making the mount namespace of pod inits');
  } finally {
    closeSync(theirs);
    closeSync(ours);
  }
}
