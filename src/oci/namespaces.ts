// The container's namespaces. An entry with a path is joined (the pod's pinned ns file, or the
// target container's /proc/<pid>/ns/pid); an entry without one is created; a namespace shared
// with the node is left out of the list. The mount namespace is always new; the cgroup one is new
// unless the input says otherwise. Order as runc's default spec: pid, network, ipc, uts, mount, cgroup.
import { invalidArgument } from '../core/errors.js';
import type { NamespaceChoice, NamespacesInput, OciNamespace, OciNamespaceType, PidNamespaceChoice } from './types.js';

function entry(type: OciNamespaceType, choice: NamespaceChoice | PidNamespaceChoice): OciNamespace | undefined {
  switch (choice.mode) {
    case 'node':
      return undefined;
    case 'container':
      return { type };
    case 'pod':
    case 'target':
      if (!choice.path.startsWith('/')) {
        throw invalidArgument(`${type} namespace path ${JSON.stringify(choice.path)} is not absolute`);
      }
      return { type, path: choice.path };
    default:
      throw invalidArgument(`unknown ${type} namespace mode ${JSON.stringify((choice as { mode: unknown }).mode)}`);
  }
}

export function buildNamespaces(ns: NamespacesInput): OciNamespace[] {
  if ((ns.network as PidNamespaceChoice).mode === 'target' || (ns.ipc as PidNamespaceChoice).mode === 'target' || (ns.uts as PidNamespaceChoice).mode === 'target') {
    throw invalidArgument('only the pid namespace can target another container');
  }
  const out: (OciNamespace | undefined)[] = [
    entry('pid', ns.pid),
    entry('network', ns.network),
    entry('ipc', ns.ipc),
    entry('uts', ns.uts),
    { type: 'mount' },
    ns.cgroup === false ? undefined : { type: 'cgroup' },
  ];
  return out.filter((n): n is OciNamespace => n !== undefined);
}

/** True when the container makes its own UTS namespace: only then may the spec set a hostname. */
export function ownsUts(ns: NamespacesInput): boolean {
  return ns.uts.mode === 'container';
}
