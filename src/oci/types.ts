// What spec generation takes and what it gives. The input is plain data: cri/convert turns a CRI
// ContainerConfig + the image config + the sandbox record into a ContainerSpecInput, and the pure
// functions of oci/ turn that into the OCI runtime spec (config.json) every executor reads.
// No gRPC type, no record type: oci/ stays a leaf that unit tests drive with literals.

/** The part of the image config containers inherit (storage's ImageRuntimeConfig fits as it is). */
export interface ImageProcessConfig {
  /** USER: "", "uid", "uid:gid", "name", "name:group", "uid:group", "name:gid". */
  readonly user: string;
  /** "KEY=value" entries; an entry without '=' unsets the key. */
  readonly env: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly workingDir: string;
  /** STOPSIGNAL: "SIGQUIT", "QUIT", "3", "SIGRTMIN+3", or "". */
  readonly stopSignal: string;
}

/** CRI MountPropagation, by what it becomes in the spec. */
export type Propagation = 'private' | 'rslave' | 'rshared';

export interface MountInput {
  /** Absolute, no ".." component. */
  readonly containerPath: string;
  /** Absolute path on the node (the daemon creates a missing one as a dir before start). */
  readonly hostPath: string;
  readonly readonly: boolean;
  /** Default 'private'. */
  readonly propagation?: Propagation;
}

/** A namespace the container joins (the pod's pinned file), shares with the node, or gets anew. */
export type NamespaceChoice =
  | { readonly mode: 'pod'; readonly path: string }
  | { readonly mode: 'node' }
  | { readonly mode: 'container' };

/** CRI pid NamespaceMode: TARGET joins another container's pid ns (/proc/<its pid>/ns/pid). */
export type PidNamespaceChoice = NamespaceChoice | { readonly mode: 'target'; readonly path: string };

export interface NamespacesInput {
  readonly network: NamespaceChoice;
  readonly ipc: NamespaceChoice;
  readonly uts: NamespaceChoice;
  readonly pid: PidNamespaceChoice;
  /** A new cgroup namespace (default true; containerd makes one on cgroup v2 only). */
  readonly cgroup?: boolean;
}

/** CRI LinuxContainerResources in CRI units; 0 or undefined leaves a value unset. */
export interface ResourcesInput {
  readonly cpuPeriod?: number;
  /** -1 = no quota. */
  readonly cpuQuota?: number;
  readonly cpuShares?: number;
  readonly cpusetCpus?: string;
  readonly cpusetMems?: string;
  readonly memoryLimitBytes?: number;
  /** Memory + swap. When 0 and a memory limit is set, swap = the memory limit (no swapping). */
  readonly memorySwapLimitBytes?: number;
  readonly oomScoreAdj?: number;
  readonly pidsLimit?: number;
  readonly hugepageLimits?: readonly { readonly pageSize: string; readonly limit: number }[];
  readonly unified?: Readonly<Record<string, string>>;
  /** The host can limit swap (v1 memory.memsw.*, v2 memory.swap.max); without it swap is never set. */
  readonly swapAccounting?: boolean;
}

/** A device node to create in the container, already stat()ed on the host by the daemon. */
export interface DeviceInput {
  /** Path inside the container, absolute. */
  readonly containerPath: string;
  readonly type: 'c' | 'b';
  readonly major: number;
  readonly minor: number;
  /** Subset of "rwm"; default "rwm". */
  readonly permissions?: string;
  readonly fileMode?: number;
  readonly uid?: number;
  readonly gid?: number;
}

export interface CapabilitiesInput {
  /** CRI names: "NET_ADMIN" or "CAP_NET_ADMIN", any case; "ALL" adds every capability. */
  readonly add?: readonly string[];
  /** "ALL" drops every capability; individual adds still apply after it. */
  readonly drop?: readonly string[];
  readonly addAmbient?: readonly string[];
}

/** Who the process runs as, before resolution against the container's /etc/passwd and /etc/group. */
export interface UserInput {
  readonly runAsUser?: number;
  /** Only with runAsUser or runAsUsername (containerd's rule). */
  readonly runAsGroup?: number;
  /** Wins over runAsUser. */
  readonly runAsUsername?: string;
  readonly supplementalGroups?: readonly number[];
  /** 'merge' (default): /etc/group memberships + supplementalGroups; 'strict': supplementalGroups only. */
  readonly supplementalGroupsPolicy?: 'merge' | 'strict';
  readonly image: Pick<ImageProcessConfig, 'user'>;
}

/**
 * A file of the image: its text; undefined when it is missing; or why it cannot be used (a FIFO,
 * a device, too big…), which reads after the file's path.
 */
export type ImageFile = string | undefined | { readonly unusable: string };

export interface ContainerSpecInput extends UserInput {
  readonly image: ImageProcessConfig;

  // --- process
  /** CRI command: overrides the image Entrypoint, and then the image Cmd is not used. */
  readonly command: readonly string[];
  /** CRI args: override the image Cmd. */
  readonly args: readonly string[];
  /** CRI envs, in order. */
  readonly env: readonly (readonly [string, string])[];
  /** CRI working_dir; "" = the image's, else "/". */
  readonly workingDir: string;
  /** A pty: process.terminal and TERM=xterm. */
  readonly tty: boolean;
  /** The container's /etc/passwd and /etc/group as the daemon could read them. */
  readonly etcPasswd?: ImageFile;
  readonly etcGroup?: ImageFile;

  // --- security
  readonly privileged: boolean;
  readonly readonlyRootfs: boolean;
  readonly noNewPrivileges: boolean;
  readonly capabilities?: CapabilitiesInput;
  /** What "ALL" and privileged mean: the capabilities the node can give (skiffd's bounding set). Default: all. */
  readonly nodeCapabilities?: readonly string[];
  /** Passed through (kubelet sends the defaults); dropped for privileged containers. */
  readonly maskedPaths?: readonly string[];
  readonly readonlyPaths?: readonly string[];
  readonly devices?: readonly DeviceInput[];

  // --- pod
  /** The pod's hostname (or the node's for host-network pods): HOSTNAME env; spec.hostname with a new UTS ns. */
  readonly hostname: string;
  readonly namespaces: NamespacesInput;
  /** The pod's dir with `hosts`, `hostname` and `resolv.conf`. */
  readonly podFilesDir: string;
  /** What /dev/shm binds: the pod's shm tmpfs, or "/dev/shm" for node-IPC pods. */
  readonly shmPath: string;
  readonly mounts: readonly MountInput[];
  /** The container's cgroup (under the pod's), relative to the hierarchy root. */
  readonly cgroupsPath: string;
  readonly resources?: ResourcesInput;

  /** CRI stop_signal by name ("SIGQUIT", or the enum name "SIGNAL_SIGQUIT"); "" or undefined = image/default. */
  readonly stopSignal?: string;

  // --- annotations (io.kubernetes.cri.*)
  readonly meta: ContainerMeta;
}

export interface ContainerMeta {
  readonly sandboxId: string;
  readonly containerName: string;
  readonly sandboxName?: string;
  readonly sandboxNamespace?: string;
  readonly sandboxUid?: string;
  /** The image as the CRI request named it. */
  readonly imageName?: string;
}

// ----------------------------------------------------------------------------------------------
// The OCI runtime spec, the subset we write (runtime-spec 1.1 field names).

export interface OciUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface OciProcess {
  terminal: boolean;
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges?: boolean;
  /** Applied at the exec; set only where the node runs AppArmor and has the profile loaded. */
  apparmorProfile?: string;
  oomScoreAdj?: number;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export type OciNamespaceType = 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'cgroup' | 'user';

export interface OciNamespace {
  type: OciNamespaceType;
  /** Present: join this namespace file. Absent: create a new namespace. */
  path?: string;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciDevice {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciResources {
  devices?: OciDeviceRule[];
  memory?: { limit?: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  hugepageLimits?: { pageSize: string; limit: number }[];
  unified?: Record<string, string>;
}

export interface OciLinux {
  namespaces: OciNamespace[];
  cgroupsPath: string;
  resources?: OciResources;
  /** Set when a bind mount needs slave or shared propagation from the root. */
  rootfsPropagation?: 'rslave' | 'rshared';
  maskedPaths?: string[];
  readonlyPaths?: string[];
  devices?: OciDevice[];
  /** For runc and crun handlers; skiff-init gets a compiled program in the bundle instead. */
  seccomp?: OciSeccomp;
}

/** runtime-spec's linux.seccomp, which runc and crun hand to libseccomp. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  flags?: string[];
  syscalls: OciSeccompSyscall[];
}

export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  /** Only when the container creates its own UTS namespace. */
  hostname?: string;
  mounts: OciMount[];
  linux: OciLinux;
  annotations: Record<string, string>;
}
