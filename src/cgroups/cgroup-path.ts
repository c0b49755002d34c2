// Cgroup paths as kubelet sends them, checked before any of them reaches the file system: the
// drivers join these paths to a mount point and write files there, so a ".." would let a request
// write control files anywhere.
//
// The pod cgroup (no pause process here, so nothing of ours runs in it directly):
// - cgroup_parent given (kubelet's cgroupfs driver): the pod cgroup IS cgroup_parent, the cgroup
//   kubelet created for the pod ("/kubepods/burstable/pod<uid>"); containers go to
//   "<cgroup_parent>/<containerId>". containerd and CRI-O put their infra container there too.
// - cgroup_parent in systemd notation ("kubepods-burstable-pod<uid>.slice", kubelet's systemd
//   driver): expanded to the cgroupfs path of that slice,
//   "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice", as runc's
//   ExpandSlice does. Only the path: no systemd API calls, no transient units.
// - empty: "/skiff/<sandboxId>", a cgroup Skiff owns (and must remove; kubelet's it must not).
import { invalidArgument } from '../core/errors.js';

/** Where pods without a cgroup_parent live, relative to each hierarchy root. */
export const SKIFF_CGROUP_PARENT = '/skiff';

const NAME_MAX = 255;
const SLICE_SUFFIX = '.slice';
/** Ids become one path component: the characters CRI ids and kubelet's names use. */
const COMPONENT = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]*$/;

const q = (s: string) => JSON.stringify(s);

/**
 * Checks a cgroup path relative to a hierarchy root: absolute, no empty, "." or ".." components,
 * no NUL or newline, not the root itself. Returns it unchanged.
 */
export function checkCgroupPath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw invalidArgument(`cgroup path ${q(String(path))} is not absolute`);
  }
  if (path === '/') throw invalidArgument('cgroup path "/" is the hierarchy root, not a cgroup of its own');
  if (/[\0\n]/.test(path)) throw invalidArgument(`cgroup path ${q(path)} contains NUL or a newline`);
  for (const part of path.slice(1).split('/')) {
    if (part === '') throw invalidArgument(`cgroup path ${q(path)} has an empty component`);
    if (part === '.' || part === '..') throw invalidArgument(`cgroup path ${q(path)} has a ${q(part)} component`);
    if (Buffer.byteLength(part) > NAME_MAX) {
      throw invalidArgument(`cgroup path ${q(path)} has a component longer than ${NAME_MAX} bytes`);
    }
  }
  return path;
}

/** The components of a checked path: "/a/b" → ["a", "b"]. */
export function cgroupComponents(path: string): string[] {
  return checkCgroupPath(path).slice(1).split('/');
}

/**
 * systemd's slice name → its cgroupfs path: "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice";
 * "-.slice" is the root slice, "/". Same rules as runc's ExpandSlice: must end in ".slice", no
 * "/", no empty dash-separated component ("a--b.slice", "-a.slice").
 */
export function expandSlice(slice: string): string {
  if (slice.length <= SLICE_SUFFIX.length || !slice.endsWith(SLICE_SUFFIX) || slice.includes('/')) {
    throw invalidArgument(`invalid systemd slice name ${q(slice)}`);
  }
  const name = slice.slice(0, -SLICE_SUFFIX.length);
  if (name === '-') return '/';
  let path = '';
  let prefix = '';
  for (const component of name.split('-')) {
    if (component === '') throw invalidArgument(`invalid systemd slice name ${q(slice)}: empty component`);
    path += `/${prefix}${component}${SLICE_SUFFIX}`;
    prefix += `${component}-`;
  }
  return path;
}

/** A CRI cgroup_parent in either notation → a checked cgroupfs path. Empty is not accepted here. */
export function resolveCgroupParent(parent: string): string {
  if (parent.startsWith('/')) return checkCgroupPath(parent);
  if (parent.endsWith(SLICE_SUFFIX)) return checkCgroupPath(expandSlice(parent));
  throw invalidArgument(
    `cgroup parent ${q(parent)} is neither an absolute cgroupfs path nor a systemd slice name (*.slice)`,
  );
}

/** One path component made from an id: no "/", ".", "..", NUL or other surprises. */
export function checkComponent(what: string, name: string): string {
  if (!COMPONENT.test(name) || Buffer.byteLength(name) > NAME_MAX) {
    throw invalidArgument(`${what} ${q(name)} cannot name a cgroup`);
  }
  return name;
}

/** The pod's cgroup: cgroup_parent itself when given, else /skiff/<sandboxId>. */
export function podCgroupPath(parent: string, sandboxId: string): string {
  if (parent !== '') return resolveCgroupParent(parent);
  return `${SKIFF_CGROUP_PARENT}/${checkComponent('sandbox id', sandboxId)}`;
}

/**
 * Whether Skiff created the pod cgroup for this cgroup_parent and so removes it with the pod.
 * kubelet's pod cgroup outlives one sandbox (a recreated sandbox of the same pod gets the same
 * cgroup_parent), and kubelet removes it itself.
 */
export function podCgroupOwned(parent: string): boolean {
  return parent === '';
}

/** A child cgroup of `parent` named by an id: "<parent>/<name>" (containers under their pod). */
export function childCgroupPath(parent: string, name: string): string {
  return `${checkCgroupPath(parent)}/${checkComponent('cgroup name', name)}`;
}
