// Who the container process runs as: CRI run_as_user / run_as_username / run_as_group, else the
// image's USER, resolved against the container's own /etc/passwd and /etc/group (the daemon reads
// them from the rootfs and passes their text). containerd's rules, case by case:
// - "uid" → that uid; gid from the passwd entry of that uid, or 0 when there is none.
// - "name" → uid and gid from the passwd entry; no entry is InvalidArgument.
// - "user:group" → each part a number or a name (user name from passwd, group name from group).
// - supplementary groups: the primary gid, the /etc/group groups listing the user's name, and
//   CRI supplemental_groups; deduplicated and sorted.
// A file the daemon could not use (a FIFO, a device, too big: see storage/rootfs-file.ts) counts
// as missing, as a missing file does for containerd, unless a name must be looked up in it:
// then the container cannot be made as asked, and the error names the file and why.
import { failedPrecondition, invalidArgument } from '../core/errors.js';
import type { ImageFile, UserInput } from './types.js';

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  /** Includes the primary gid, sorted, no duplicates. */
  readonly additionalGids: number[];
  /** The passwd entry's home, "/" when the user has no entry (what runc sets HOME to). */
  readonly home: string;
  /** The passwd name when known. */
  readonly username?: string;
}

/** uid_t/gid_t: 0 .. 2^32-2 (-1 is "no change" to the kernel). */
const MAX_ID = 0xfffffffe;
const DIGITS = /^[0-9]+$/;

function isId(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n <= MAX_ID;
}

function parseId(s: string): number | undefined {
  if (!DIGITS.test(s)) return undefined;
  const n = Number(s);
  return isId(n) ? n : undefined;
}

/**
 * The fields of each line that can be an entry: at least `minFields` colon-separated fields, not
 * blank, not a comment or a NIS "+"/"-" line. The text is the image's: one pass with indexOf and
 * no per-line arrays for lines that cannot be entries, so a hostile file at the size limit
 * (storage/rootfs-file.ts) costs tens of milliseconds of the event loop, not seconds.
 */
function* entries(text: string | undefined, minFields: number): Generator<string[]> {
  if (text === undefined) return;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const from = start;
    start = end + 1;
    let colons = 0;
    for (let i = text.indexOf(':', from); i >= 0 && i < end && colons < minFields - 1; i = text.indexOf(':', i + 1)) colons++;
    if (colons < minFields - 1) continue;
    const line = text.slice(from, end).trim();
    if (line === '' || line[0] === '#' || line[0] === '+' || line[0] === '-') continue;
    yield line.split(':');
  }
}

/** name:password:uid:gid:gecos:home:shell; malformed lines are skipped. */
export function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of entries(text, 4)) {
    const uid = parseId(f[2] ?? '');
    const gid = parseId(f[3] ?? '');
    if (f.length < 4 || !f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] || '/' });
  }
  return out;
}

/** name:password:gid:member,member; malformed lines are skipped. */
export function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of entries(text, 3)) {
    const gid = parseId(f[2] ?? '');
    if (f.length < 3 || !f[0] || gid === undefined) continue;
    const members = (f[3] ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    out.push({ name: f[0], gid, members });
  }
  return out;
}

function checkId(n: number, what: string): number {
  if (!isId(n)) throw invalidArgument(`${what} ${n} is not a valid id (0..${MAX_ID})`);
  return n;
}

/** The user string containerd builds from the CRI fields, or undefined when they name no user. */
function criUserString(input: UserInput): string | undefined {
  let user: string | undefined;
  if (input.runAsUser !== undefined) user = String(checkId(input.runAsUser, 'run_as_user'));
  if (input.runAsUsername) user = input.runAsUsername;
  const group = input.runAsGroup === undefined ? undefined : String(checkId(input.runAsGroup, 'run_as_group'));
  if (user === undefined) {
    if (group !== undefined) throw invalidArgument(`run_as_group ${group} is set without run_as_user or run_as_username`);
    return undefined;
  }
  return group === undefined ? user : `${user}:${group}`;
}

const textOf = (f: ImageFile): string | undefined => (typeof f === 'object' ? undefined : f);

/** Throws when a name must be looked up in a file that could not be used. */
function needFile(f: ImageFile, path: string, what: string): void {
  if (typeof f === 'object') throw failedPrecondition(`cannot look up ${what}: the image's ${path} ${f.unusable}`);
}

/**
 * Resolves the process user; throws InvalidArgument for unknown names and malformed strings,
 * FailedPrecondition for a name that must be looked up in an unusable file.
 */
export function resolveUser(input: UserInput, passwd: ImageFile, group: ImageFile): ResolvedUser {
  const users = parsePasswd(textOf(passwd));
  const groups = parseGroup(textOf(group));
  const userstr = criUserString(input) ?? input.image.user;

  let uid = 0;
  let gid = 0;
  let entry: PasswdEntry | undefined;
  if (userstr !== '') {
    const parts = userstr.split(':');
    if (parts.length > 2 || parts.some((p) => p === '')) throw invalidArgument(`invalid user ${JSON.stringify(userstr)}`);
    const [userPart = '', groupPart] = parts;
    const numericUid = parseId(userPart);
    if (numericUid !== undefined) {
      uid = numericUid;
      entry = users.find((u) => u.uid === uid);
    } else {
      if (DIGITS.test(userPart)) throw invalidArgument(`uid ${userPart} is out of range`);
      needFile(passwd, '/etc/passwd', `user ${userPart}`);
      entry = users.find((u) => u.name === userPart);
      if (!entry) throw invalidArgument(`user ${userPart} not found in /etc/passwd`);
      uid = entry.uid;
    }
    if (groupPart === undefined) {
      gid = entry?.gid ?? 0;
    } else {
      const numericGid = parseId(groupPart);
      if (numericGid !== undefined) {
        gid = numericGid;
      } else {
        if (DIGITS.test(groupPart)) throw invalidArgument(`gid ${groupPart} is out of range`);
        needFile(group, '/etc/group', `group ${groupPart}`);
        const g = groups.find((x) => x.name === groupPart);
        if (!g) throw invalidArgument(`group ${groupPart} not found in /etc/group`);
        gid = g.gid;
      }
    }
  } else {
    entry = users.find((u) => u.uid === 0);
  }

  const gids = new Set<number>([gid]);
  const username = entry?.name;
  if ((input.supplementalGroupsPolicy ?? 'merge') === 'merge' && username !== undefined) {
    for (const g of groups) if (g.name !== username && g.members.includes(username)) gids.add(g.gid);
  }
  for (const g of input.supplementalGroups ?? []) gids.add(checkId(g, 'supplemental group'));

  return {
    uid,
    gid,
    additionalGids: [...gids].sort((a, b) => a - b),
    home: entry?.home ?? '/',
    ...(username !== undefined ? { username } : {}),
  };
}
