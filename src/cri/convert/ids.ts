import { invalidArgument } from '../../core/errors.js';

/** An id field the caller must fill: empty is InvalidArgument, naming the field. */
export function requireId(id: string, field: string): string {
  if (!id) throw invalidArgument(`${field} is empty`);
  return id;
}
