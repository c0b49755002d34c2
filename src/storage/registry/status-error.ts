// A registry's non-success answer as an error of the right kind, keeping the registry's own error
// code and message (distribution spec error document: {"errors":[{"code","message"}]}).
import { invalidArgument, notFound, unavailable, type SkiffError } from '../../core/errors.js';
import { permissionDenied } from './auth.js';
import { readBody, type HttpResponse } from './http.js';

const MAX_ERROR_BYTES = 64 << 10;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first error's "CODE: message" of a registry error document; '' when the body is not one. */
export function errorDetail(body: Buffer): string {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return '';
  }
  const first: unknown = isObject(doc) && Array.isArray(doc.errors) ? doc.errors[0] : undefined;
  if (!isObject(first)) return '';
  return [first.code, first.message].filter((x): x is string => typeof x === 'string' && x !== '').join(': ');
}

/** Reads the (small) body and maps the status: 401/403 PermissionDenied, 404 NotFound, 400 InvalidArgument, else Unavailable. */
export async function statusError(res: HttpResponse, what: string): Promise<SkiffError> {
  let detail = '';
  try {
    detail = errorDetail(await readBody(res, MAX_ERROR_BYTES, what));
  } catch {
    // An unreadable error body: the status alone has to do.
  }
  const msg = `${what}: HTTP ${res.status}${detail === '' ? '' : ` (${detail})`}`;
  if (res.status === 401 || res.status === 403) return permissionDenied(msg);
  if (res.status === 404) return notFound(msg);
  if (res.status === 400) return invalidArgument(msg);
  if (res.status === 429) return unavailable(`${msg}: rate limited by the registry`);
  return unavailable(msg);
}
