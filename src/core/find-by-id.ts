// crictl users type id prefixes: a lookup by full id or by a unique prefix, shared by pods and
// containers.
import { failedPrecondition } from './errors.js';

export function findByIdOrPrefix<T extends { readonly id: string }>(
  byId: ReadonlyMap<string, T>,
  text: string,
  what: string,
): T | undefined {
  const exact = byId.get(text);
  if (exact || !text) return exact;
  const matches = [...byId.values()].filter((r) => r.id.startsWith(text));
  if (matches.length > 1) throw failedPrecondition(`${what} id prefix ${JSON.stringify(text)} is ambiguous`);
  return matches[0];
}
