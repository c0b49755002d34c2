// The container's seccomp filter: the CRI's choice (RuntimeDefault, Unconfined, or a Localhost
// JSON profile on the node). For the built-in executor it is compiled once per (profile, arch,
// capabilities) into the BPF program skiff-init loads last before exec (src/seccomp/ compiles;
// native-helpers/init/seccomp.c loads); runc and crun get it as the spec's linux.seccomp.
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { RUNTIME_DEFAULT_PROFILE } from '../../seccomp/default-profile.js';
import { parseSeccompProfileJson, type SeccompProfile } from '../../seccomp/profile.js';
import type { SeccompArch } from '../../seccomp/arch.js';
import type { SeccompCache } from '../../seccomp/cache.js';
import { ociSeccomp } from '../../seccomp/oci-seccomp.js';
import type { OciSeccomp } from '../../oci/types.js';
import { failedPrecondition, hasErrno, invalidArgument, notFound } from '../errors.js';

export type SeccompRequest =
  | { readonly type: 'runtime-default' }
  | { readonly type: 'unconfined' }
  | { readonly type: 'localhost'; readonly path: string };

/** The deprecated string field: "", "runtime/default", "docker/default", "unconfined", "localhost/<path>". */
export function parseSeccompString(s: string): SeccompRequest | undefined {
  if (s === '') return undefined;
  if (s === 'runtime/default' || s === 'docker/default') return { type: 'runtime-default' };
  if (s === 'unconfined') return { type: 'unconfined' };
  if (s.startsWith('localhost/')) return { type: 'localhost', path: s.slice('localhost/'.length) };
  throw invalidArgument(`seccomp_profile_path ${JSON.stringify(s)}: want runtime/default, docker/default, unconfined or localhost/<path>`);
}

function nodeArch(): SeccompArch | undefined {
  return process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : undefined;
}

function loadProfile(req: SeccompRequest): SeccompProfile | undefined {
  if (req.type === 'unconfined') return undefined;
  if (req.type === 'runtime-default') return RUNTIME_DEFAULT_PROFILE;
  if (!isAbsolute(req.path)) throw invalidArgument(`seccomp profile ${JSON.stringify(req.path)}: a Localhost profile is an absolute path on the node`);
  let text: string;
  try {
    text = readFileSync(req.path, 'utf8');
  } catch (e) {
    if (hasErrno(e, 'ENOENT')) throw notFound(`seccomp profile ${req.path} does not exist on this node`);
    throw invalidArgument(`seccomp profile ${req.path} cannot be read: ${(e as Error).message}`);
  }
  return parseSeccompProfileJson(text);
}

export type ContainerSeccomp = { readonly bpf: Buffer } | { readonly oci: OciSeccomp };

/**
 * The filter for a container, as a BPF program for skiff-init or a linux.seccomp for an OCI
 * runtime, or undefined when it runs unconfined (asked for, privileged, or nothing asked:
 * containerd's default is unconfined unless kubelet sends RuntimeDefault).
 */
export function containerSeccomp(
  cache: SeccompCache,
  req: SeccompRequest | undefined,
  opts: { privileged: boolean; capabilities: readonly string[]; builtinExecutor: boolean },
): ContainerSeccomp | undefined {
  if (!req || opts.privileged) return undefined;
  const profile = loadProfile(req);
  if (!profile) return undefined;
  const arch = nodeArch();
  if (!arch) throw failedPrecondition(`seccomp: no syscall table for this node's architecture (${process.arch})`);
  const compile = { arch, capabilities: [...opts.capabilities] };
  return opts.builtinExecutor ? { bpf: cache.get(profile, compile) } : { oci: ociSeccomp(profile, compile) };
}
