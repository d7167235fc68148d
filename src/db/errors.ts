// The database could not be reached: at start-up (after [database] max_retries) and while serving
// (the API answers 503 until it comes back). Drivers report a lost or refused connection in many
// shapes; isConnectionError knows them so callers need not.

/** The database did not answer at start-up; `target` is the URL without its password. */
export class DatabaseUnreachableError extends Error {
  override readonly name = 'DatabaseUnreachableError';
  constructor(
    readonly target: string,
    readonly attempts: number,
    readonly reason: string,
  ) {
    super(`cannot reach ${target} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason}`);
  }
}

// Node's socket errors, as pg and mysql2 pass them on.
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
]);
// mysql2: the connection dropped, or the server refuses more (1040) or is shutting down (1053).
const MYSQL_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN']);
const MYSQL_ERRNOS = new Set([1040, 1053, 2002, 2003, 2006, 2013]);
// PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01-57P03 (shutting down, cannot
// connect now), 53300 (too many connections).
const PG_STATE = /^(08...|57P0[123]|53300)$/;
// pg reports its own client-side failures with a message only.
const PG_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended unexpectedly/i;
// mysql2 refuses to use a connection it already saw die.
const MYSQL_MESSAGES = /connection is in closed state|Pool is closed/i;

/** A lost, refused or timed-out database connection (not a bad query): worth a 503 and a retry later. */
export function isConnectionError(err: unknown): boolean {
  for (let e = err as { code?: unknown; errno?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (SOCKET_CODES.has(code) || MYSQL_CODES.has(code) || PG_STATE.test(code)) return true;
    if (typeof e.errno === 'number' && MYSQL_ERRNOS.has(e.errno) && !code.startsWith('SQLITE')) return true;
    const message = typeof e.message === 'string' ? e.message : '';
    if (PG_MESSAGES.test(message) || MYSQL_MESSAGES.test(message)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** A one-line reason for logs and start-up errors: the driver's message and code, no stack. */
export function connectionErrorReason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  // Node reports a refused dual-stack connect as an AggregateError with an empty message.
  const inner = Array.isArray(e?.errors) && e.errors.length ? (e.errors[0] as { message?: unknown }) : null;
  const message = (typeof e?.message === 'string' && e.message) || (typeof inner?.message === 'string' && inner.message) || String(err);
  const code = typeof e?.code === 'string' ? e.code : '';
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
