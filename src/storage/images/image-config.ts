// The OCI image config (the blob the image id names): what containers inherit from the image, and
// the diff ids that key its layers. An untyped boundary: checked field by field.
import { internal } from '../../core/errors.js';
import { isDigest, type Digest } from '../../core/ids.js';

export interface ImageRuntimeConfig {
  readonly user: string;
  readonly env: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly workingDir: string;
  readonly stopSignal: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly exposedPorts: readonly string[];
  readonly volumes: readonly string[];
}

export interface ImageConfig {
  readonly architecture: string;
  readonly os: string;
  readonly diffIds: readonly Digest[];
  readonly runtime: ImageRuntimeConfig;
}

const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function strings(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw internal(`image config: ${what} is not a list of strings`);
  return v as string[];
}

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw internal(`image config: ${what} is not a string`);
  return v;
}

export function parseImageConfig(bytes: Buffer): ImageConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw internal('image config is not JSON');
  }
  const top = obj(raw);
  const rootfs = obj(top.rootfs);
  if (rootfs.type !== 'layers') throw internal(`image config: rootfs.type is ${JSON.stringify(rootfs.type)}, want "layers"`);
  const diffIds = strings(rootfs.diff_ids, 'rootfs.diff_ids');
  for (const d of diffIds) if (!isDigest(d)) throw internal(`image config: diff id ${JSON.stringify(d)} is not a sha256 digest`);
  const c = obj(top.config);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(c.Labels))) if (typeof v === 'string') labels[k] = v;
  return {
    architecture: str(top.architecture, 'architecture'),
    os: str(top.os, 'os'),
    diffIds: diffIds as Digest[],
    runtime: {
      user: str(c.User, 'config.User'),
      env: strings(c.Env, 'config.Env'),
      entrypoint: strings(c.Entrypoint, 'config.Entrypoint'),
      cmd: strings(c.Cmd, 'config.Cmd'),
      workingDir: str(c.WorkingDir, 'config.WorkingDir'),
      stopSignal: str(c.StopSignal, 'config.StopSignal'),
      labels,
      exposedPorts: Object.keys(obj(c.ExposedPorts)),
      volumes: Object.keys(obj(c.Volumes)),
    },
  };
}

/**
 * The uid or user name CRI reports for an image, as containerd derives it: "1000" and "1000:1000"
 * give uid 1000; "nginx" and "nginx:web" give the name; no user gives neither (kubelet then
 * treats the image as running as root).
 */
export function imageUser(user: string): { uid?: bigint; username?: string } {
  const name = user.split(':')[0] ?? '';
  if (name === '') return {};
  return /^\d+$/.test(name) ? { uid: BigInt(name) } : { username: name };
}
