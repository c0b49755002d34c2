// Linux signal names and numbers, for stop signals given by CRI (an enum, by name) or by an image's
// STOPSIGNAL ("SIGQUIT", "QUIT", "3", "SIGRTMIN+3"). One table, no lookup of the host's Node build:
// real-time signals are not in os.constants.signals.
import { invalidArgument } from '../core/errors.js';

export interface SignalSpec {
  /** Canonical name: "SIGTERM", "SIGRTMIN+3", "SIGRTMAX-2". */
  readonly name: string;
  readonly number: number;
}

const NAMED: Readonly<Record<string, number>> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
};

/** Names preferred for numbers that have aliases. */
const ALIASES = new Set(['IOT', 'CLD', 'POLL']);

export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

/** The canonical name of a signal number, as `kill -l` prints it. */
export function signalName(n: number): string {
  for (const [name, num] of Object.entries(NAMED)) if (num === n && !ALIASES.has(name)) return `SIG${name}`;
  if (n === SIGRTMIN) return 'SIGRTMIN';
  if (n === SIGRTMAX) return 'SIGRTMAX';
  if (n > SIGRTMIN && n <= SIGRTMIN + 15) return `SIGRTMIN+${n - SIGRTMIN}`;
  if (n > SIGRTMIN + 15 && n < SIGRTMAX) return `SIGRTMAX-${SIGRTMAX - n}`;
  return `SIG${n}`;
}

function rt(base: 'MIN' | 'MAX', sign: string | undefined, offset: string | undefined): number | undefined {
  const k = offset === undefined ? 0 : Number(offset);
  const n = base === 'MIN' ? SIGRTMIN + (sign === '-' ? -k : k) : SIGRTMAX + (sign === '+' ? k : -k);
  return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
}

/**
 * Parses a signal given as a number ("3"), a name with or without SIG ("SIGQUIT", "quit"), a
 * real-time name ("SIGRTMIN+3", "RTMAX-1") or a CRI enum name with or without its prefix
 * ("SIGNAL_SIGQUIT", "SIGNAL_SIGRTMINPLUS3", "SIGRTMAXMINUS1"). InvalidArgument for anything else.
 */
export function parseSignal(s: string): SignalSpec {
  const bad = () => invalidArgument(`unknown signal ${JSON.stringify(s)}`);
  const t = s.trim();
  if (/^[0-9]+$/.test(t)) {
    const n = Number(t);
    if (n < 1 || n > SIGRTMAX) throw bad();
    return { name: signalName(n), number: n };
  }
  let u = t.toUpperCase();
  if (u.startsWith('SIGNAL_')) u = u.slice('SIGNAL_'.length);
  if (u.startsWith('SIG')) u = u.slice(3);
  u = u.replace(/^RT(MIN|MAX)PLUS(?=\d)/, 'RT$1+').replace(/^RT(MIN|MAX)MINUS(?=\d)/, 'RT$1-');
  let n: number | undefined = NAMED[u];
  if (n === undefined) {
    const m = /^RT(MIN|MAX)(?:([+-])(\d{1,2}))?$/.exec(u);
    if (m) n = rt(m[1] as 'MIN' | 'MAX', m[2], m[3]);
  }
  if (n === undefined) throw bad();
  return { name: signalName(n), number: n };
}

/**
 * The CRI Signal enum key of a signal ("SIGNAL_SIGQUIT", "SIGNAL_SIGRTMINPLUS3",
 * "SIGNAL_SIGRTMAXMINUS1"), for ContainerStatus.stop_signal; undefined for 32 and 33, which CRI
 * cannot name.
 */
export function criSignalKey(sig: SignalSpec): string | undefined {
  if (sig.number === 32 || sig.number === 33) return undefined;
  return `SIGNAL_${signalName(sig.number).replace('+', 'PLUS').replace('-', 'MINUS')}`;
}
