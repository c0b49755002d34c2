// What a test daemon leaves on the host if a test dies half-way: pods (their namespace pins,
// /dev/shm mounts, init processes), cgroups, the bridge and the iptables chains. Found and removed
// here, so two runs never collide and nothing outlives the test.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync, rmdirSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface TestNetwork {
  readonly bridge: string;
  readonly subnet: string;
  readonly chainPrefix: string;
}

/** A bridge, /24 and chain prefix of this test's own; the subnet is inside 10.200.0.0/13. */
export function uniqueNetwork(): TestNetwork {
  const tag = randomBytes(3).toString('hex');
  return {
    bridge: `skt${tag}`,
    subnet: `10.${200 + randomInt(8)}.${randomInt(256)}.0/24`,
    chainPrefix: `T${tag.toUpperCase()}`,
  };
}

function run(argv: string[]): string {
  try {
    return execFileSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return '';
  }
}

/** Mount points below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

export async function removeHostState(d: { dir: string; net: TestNetwork }): Promise<void> {
  // Pod init processes live in their own pid namespaces; their pins are under the state dir.
  for (const m of mountsUnder(d.dir)) run(['umount', '-l', m]);
  run(['ip', 'link', 'del', d.net.bridge]);
  const prefix = d.net.chainPrefix;
  for (const table of ['nat', 'filter']) {
    const saved = run(['iptables-save', '-t', table]);
    for (const line of saved.split('\n')) {
      // Jump rules from the built-in chains into ours.
      const m = /^-A (\S+) (.*-j (\S+).*)$/.exec(line);
      if (m && m[3]?.startsWith(prefix + '-') && !m[1]?.startsWith(prefix + '-')) {
        run(['iptables', '-t', table, '-D', m[1] as string, ...(m[2] as string).split(' ')]);
      }
    }
    const chains = saved.split('\n').filter((l) => l.startsWith(`:${prefix}-`)).map((l) => l.slice(1).split(' ')[0] as string);
    for (const c of chains) run(['iptables', '-t', table, '-F', c]);
    for (const c of chains) run(['iptables', '-t', table, '-X', c]);
  }
  // Cgroups the daemon made under /skiff, in every hierarchy (v1 controllers, the unified and
  // named ones): its pods' (with their containers' below them) and, where an OCI runtime put them
  // on their own, its containers'. Only this daemon's: another test run may have pods there too.
  const records = join(d.dir, 'state', 'records');
  const ours = (id: string) => ['sandboxes', 'containers'].some((k) => existsSync(join(records, k, `${id}.json`)));
  for (const ctl of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    const base = join('/sys/fs/cgroup', ctl, 'skiff');
    if (!existsSync(base)) continue;
    for (const id of readdirSync(base)) if (ours(id)) await removeCgroupTree(join(base, id));
    try {
      rmdirSync(base);
    } catch {
      // Another test's daemon still has pods there.
    }
  }
}

/** Kills what is in a cgroup and every cgroup below it, then removes them, deepest first. */
async function removeCgroupTree(dir: string): Promise<void> {
  const all: string[] = [];
  const walk = (p: string) => {
    all.push(p);
    for (const e of readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) walk(join(p, e.name));
  };
  walk(dir);
  for (const p of all) {
    const procs = join(p, 'cgroup.procs');
    if (!existsSync(procs)) continue;
    for (const pid of readFileSync(procs, 'utf8').split('\n').filter(Boolean)) run(['kill', '-9', pid]);
  }
  // A killed process leaves its cgroup a moment later: a cgroup is busy until then.
  const left = all.reverse();
  for (let attempt = 0; attempt < 20 && left.length > 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < left.length; ) {
      try {
        rmdirSync(left[i] as string);
        left.splice(i, 1);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') left.splice(i, 1);
        else i++;
      }
    }
  }
}
