// Every on-disk path Skiff uses, in one place. Both roots come from the config so tests run in temp
// dirs and never touch /var/lib/skiff or /run/skiff.
import { join } from 'node:path';

export interface Roots {
  /** Persistent: images, layers, records that must survive a reboot. */
  readonly root: string;
  /** Volatile (tmpfs): socket, lock, namespace pins, per-object runtime dirs. */
  readonly state: string;
}

export class Paths {
  constructor(readonly roots: Roots) {}

  get lockFile(): string {
    return join(this.roots.state, 'skiffd.lock');
  }
  get defaultSocket(): string {
    return join(this.roots.state, 'skiff.sock');
  }
  /** Records of small runtime-wide settings (UpdateRuntimeConfig's pod CIDR). */
  get runtimeRecords(): string {
    return join(this.roots.root, 'runtime');
  }
  get contentDir(): string {
    return join(this.roots.root, 'content');
  }
  get layersDir(): string {
    return join(this.roots.root, 'layers');
  }
  get imagesDir(): string {
    return join(this.roots.root, 'images');
  }
  /** One file per allocated pod address (persistent: allocations are reconciled at start-up). */
  get ipamDir(): string {
    return join(this.roots.root, 'ipam');
  }
  get sandboxRecords(): string {
    return join(this.roots.state, 'records', 'sandboxes');
  }
  get containerRecords(): string {
    return join(this.roots.state, 'records', 'containers');
  }
  get nsDir(): string {
    return join(this.roots.state, 'ns');
  }
  get sandboxesDir(): string {
    return join(this.roots.state, 'sandboxes');
  }
  /** Containers' writable layers (overlay upper and work dirs): on disk, not in /run's RAM. */
  get writableDir(): string {
    return join(this.roots.root, 'writable');
  }
  get containersDir(): string {
    return join(this.roots.state, 'containers');
  }
  get exitsDir(): string {
    return join(this.roots.state, 'exits');
  }
  /** Monitors' attach sockets, named by container id (kept short: a socket path has 107 bytes). */
  get attachDir(): string {
    return join(this.roots.state, 'attach');
  }
}
