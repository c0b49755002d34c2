// The checks every config section makes, each naming the key and the value it refused.
import { isAbsolute } from 'node:path';
import { ConfigError } from './config-error.js';

export const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

export function mapping(key: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(key, `must be a mapping; got ${show(v)}`);
  return v as Record<string, unknown>;
}

/** `prefix` is what goes before each key in the message ("network." or "" at the top). */
export function knownKeys(prefix: string, obj: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k)) throw new ConfigError(prefix + k, `unknown key (known keys: ${keys.join(', ')})`);
  }
}

export function string(key: string, v: unknown): string {
  if (typeof v !== 'string') throw new ConfigError(key, `must be a string; got ${show(v)}`);
  return v;
}

export function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(key, `must be true or false; got ${show(v)}`);
  return v;
}

export function number(key: string, v: unknown, min: number, max: number, integer = true): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw new ConfigError(key, `must be a ${integer ? 'whole ' : ''}number from ${min} to ${max}; got ${show(v)}`);
  }
  return v;
}

export function absolutePath(key: string, v: unknown, allowEmpty = false): string {
  const s = string(key, v);
  if (s === '' && allowEmpty) return s;
  if (!isAbsolute(s)) throw new ConfigError(key, `must be an absolute path; got ${show(v)}`);
  return s;
}

export function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new ConfigError(key, `must be one of ${allowed.join(', ')}; got ${show(v)}`);
}
