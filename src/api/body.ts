// Checks of a parsed request body before any route sees it: values no attribute can take and no
// database can store are refused here once, for every resource, with a 400.
import { badRequest } from '../core/errors.js';

/**
 * How deep a body may nest. Neutron's bodies nest a few levels (binding:profile, segments);
 * deeper ones are refused before validators recurse into them (a message formatting 20,000
 * levels overflowed the stack).
 */
export const MAX_BODY_DEPTH = 32;

/** %00 anywhere in a URL: a NUL in a path segment or a query value. */
export const NUL_IN_URL = /%00/;

const NUL = '\u0000';
/** A surrogate code unit not part of a pair (with the u flag a pair is one astral code point). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Refuses strings (values and keys) holding a NUL, which PostgreSQL's text cannot store, or a lone
 * UTF-16 surrogate, which has no UTF-8 form; and nesting beyond MAX_BODY_DEPTH. Iterative, so a
 * deep body cannot overflow the stack here.
 */
export function checkBody(body: unknown): void {
  const stack: Array<[unknown, number]> = [[body, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') {
      checkString(v);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) throw badRequest(`Malformed request body: nested more than ${MAX_BODY_DEPTH} levels deep`);
    if (Array.isArray(v)) {
      for (const x of v) stack.push([x, depth + 1]);
    } else {
      for (const [k, x] of Object.entries(v)) {
        checkString(k);
        stack.push([x, depth + 1]);
      }
    }
  }
}

function checkString(s: string): void {
  if (s.includes(NUL)) throw badRequest('Invalid input: a string in the request body contains a NUL character (\\u0000), which cannot be stored');
  if (LONE_SURROGATE.test(s))
    throw badRequest('Invalid input: a string in the request body contains a lone UTF-16 surrogate, which is not valid Unicode');
}
