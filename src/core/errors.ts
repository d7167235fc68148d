// Neutron's error body: {"NeutronError": {"type", "message", "detail"}} with the HTTP status
// Neutron gives each exception class (neutron_lib.exceptions mapped in api/v2/base.py FAULT_MAP).

/**
 * The longest message an error carries. Neutron echoes rejected values in full (a 1 MB
 * description gives a 1 MB error); here every message is cut at this many characters.
 */
export const MAX_MESSAGE_LENGTH = 2048;
/** How much of a rejected value a message quotes (`brief`). */
const MAX_ECHO_LENGTH = 255;

/** `text` cut to at most `max` UTF-16 units without splitting a surrogate pair, with "..." when cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 3;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${text.slice(0, end)}...`;
}

/** A rejected value as a message quotes it: strings as they are, others as JSON, both cut short. */
export function brief(v: unknown): string {
  if (typeof v === 'string') return truncate(v, MAX_ECHO_LENGTH);
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = Object.prototype.toString.call(v); // too deep or cyclic: say only what it is
  }
  return truncate(text, MAX_ECHO_LENGTH);
}

export class NeutronError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly detail = '',
    readonly headers: Record<string, string> = {},
  ) {
    super(truncate(message, MAX_MESSAGE_LENGTH));
  }
  toBody(): { NeutronError: { type: string; message: string; detail: string } } {
    return { NeutronError: { type: this.type, message: this.message, detail: this.detail } };
  }
}

export const badRequest = (message: string, type = 'HTTPBadRequest') => new NeutronError(400, type, message);
/** neutron_lib InvalidInput: "Invalid input for operation: %(error_message)s." (the period is the template's). */
export const invalidInput = (errorMessage: string) => new NeutronError(400, 'InvalidInput', `Invalid input for operation: ${errorMessage}.`);
/**
 * The API layer's attribute validation failure (neutron_lib/api/attributes.py convert_values,
 * raised as webob.exc.HTTPBadRequest by api/v2/base.py).
 */
export const invalidAttribute = (attr: string, reason: string) => badRequest(`Invalid input for ${attr}. Reason: ${reason}.`);
export const notFound = (type: string, message: string) => new NeutronError(404, type, message);
export const conflict = (type: string, message: string) => new NeutronError(409, type, message);
export const forbidden = (message: string, type = 'PolicyNotAuthorized') => new NeutronError(403, type, message);
export const notAuthorized = (message = 'Authentication required') =>
  new NeutronError(401, 'HTTPUnauthorized', message, '', { 'www-authenticate': "Keystone uri='unknown'" });

/** A policy rule refused the caller an action on something it may see. */
export const policyNotAuthorized = (action: string) => forbidden(`(rule:${action}) is disallowed by policy`);
/** neutron_lib NotAuthorized (403): the caller may not act on another project's object (`notAuthorized` is the 401). */
export const actionNotAuthorized = () => new NeutronError(403, 'NotAuthorized', 'Not authorized.');
/** webob's HTTPNotFound: no such resource or route (read-only resources answer writes with it). */
export const httpNotFound = (message = 'The resource could not be found.') => new NeutronError(404, 'HTTPNotFound', message);
/** webob's HTTPServiceUnavailable: the server cannot answer now (its database is gone); a retry later may work. */
export const serviceUnavailable = (message: string) => new NeutronError(503, 'HTTPServiceUnavailable', message, '', { 'retry-after': '5' });
