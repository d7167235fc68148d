// Neutron's error body: {"NeutronError": {"type", "message", "detail"}} with the HTTP status
// Neutron gives each exception class (neutron_lib.exceptions mapped in api/v2/base.py FAULT_MAP).
export class NeutronError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly detail = '',
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
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
