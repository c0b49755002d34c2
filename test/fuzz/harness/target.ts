// What a fuzz target is: one parser entry point that takes bytes (as libFuzzer's TestOneInput
// does), the inputs to feed it, and its contract: which typed errors are a valid answer. Anything
// else it throws, any invariant it breaks, any input it takes longer than the time bound on, is a
// finding.
import type fc from 'fast-check';
import { SkiffError, type ErrorKind } from '../../../src/core/errors.js';

export interface FuzzTarget {
  readonly name: string;
  /** The parser and what it promises, one line. */
  readonly about: string;
  /** Builds the input generator (seeds may take async work to build). */
  readonly inputs: () => Promise<fc.Arbitrary<Buffer>>;
  /** Runs one input. Returns normally or throws; `accepts` decides whether a throw is valid. */
  readonly run: (input: Buffer) => void | Promise<void>;
  /** Whether an error thrown by `run` is the parser's typed refusal. */
  readonly accepts: (e: unknown) => boolean;
  /** Inputs in the short run of the test suite (a fraction of a second each target). */
  readonly smokeRuns: number;
  /** Per-input time bound; past it the input is a finding. Default DEFAULT_TIME_BOUND_MS. */
  readonly timeBoundMs?: number;
  readonly setup?: () => Promise<void>;
  readonly teardown?: () => Promise<void>;
}

export const DEFAULT_TIME_BOUND_MS = 2000;

/** Thrown by a target when the parser answered but broke one of its promises. */
export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

export function violation(message: string): never {
  throw new ContractViolation(message);
}

/** Accepts SkiffErrors of the given kinds. */
export function skiffKinds(...kinds: ErrorKind[]): (e: unknown) => boolean {
  return (e) => e instanceof SkiffError && kinds.includes(e.kind);
}

/** How a thrown value reads in a report: its class, its kind, its message. */
export function describeError(e: unknown): string {
  if (e instanceof SkiffError) return `SkiffError(${e.kind}): ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return `non-Error thrown: ${String(e)}`;
}
