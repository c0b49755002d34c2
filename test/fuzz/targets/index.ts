// Every fuzz target, by name. A parser of untrusted bytes without an entry here has no fuzzing
// (DESIGN.md, convention 15); the C JSON parser is fuzzed by libFuzzer (test/fuzz/native/).
import type { FuzzTarget } from '../harness/target.js';
import { criTarget } from './cri-convert.js';
import { archiveTarget } from './image-archive.js';
import { imageConfigTarget, manifestTarget } from './image-metadata.js';
import { netlinkTarget } from './netlink.js';
import { challengeTarget, tokenTarget } from './registry-auth.js';
import { seccompTarget } from './seccomp.js';
import { framesTarget, headerBlockTarget, resizeTarget, sessionTarget } from './spdy.js';
import { paxTarget, tarParserTarget, tarTarget } from './tar.js';

export const TARGETS: readonly FuzzTarget[] = [
  tarTarget,
  tarParserTarget,
  paxTarget,
  archiveTarget,
  manifestTarget,
  imageConfigTarget,
  challengeTarget,
  tokenTarget,
  framesTarget,
  headerBlockTarget,
  sessionTarget,
  resizeTarget,
  netlinkTarget,
  criTarget,
  seccompTarget,
];

export function findTarget(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target ${JSON.stringify(name)} (have: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}
