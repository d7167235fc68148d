// Logging in oslo.log's shape. pino stays the logger (its API is what the code calls, its
// serializers and child bindings too); what reaches the file or stderr is rewritten line by line
// by a small destination wrapper into oslo.log's text format,
//   2026-12-07 08:56:27.123 4242 INFO neutrino.api [None req-… user project - - - -] message
// (logging_context_format_string when the line has a request id, logging_default_format_string
// `… [-] message` when not), or into the JSON object oslo.log's JSONFormatter writes (use_json).
// A wrapper rather than a pino transport: a transport is a worker thread and a copy per line,
// while parsing back the line pino just wrote costs a few microseconds on the same thread.
import { hostname } from 'node:os';
import { type DestinationStream, type Logger, pino } from 'pino';

export interface LogSettings {
  /** debug level instead of info ([DEFAULT] debug, --debug). */
  debug: boolean;
  /** oslo.log's use_json. */
  json: boolean;
  /** The file to append to (log_file under log_dir); stdout when unset, as oslo.log. */
  file?: string;
  /** The binary's name, oslo's process_name in JSON lines (neutrino-server, neutrino-dhcp-agent, ...). */
  binary: string;
}

/** What pino writes and the formatters read: its own keys, then the fields a call gave. */
interface Line {
  level: number;
  time: number;
  name?: string;
  msg?: string;
  err?: { type?: string; message?: string; stack?: string };
  [field: string]: unknown;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'DEBUG', 20: 'DEBUG', 30: 'INFO', 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL' };
/** Python's logging levels, for the JSON lines' levelno. */
const LEVEL_NOS: Record<number, number> = { 10: 5, 20: 10, 30: 20, 40: 30, 50: 40, 60: 50 };
const DEFAULT_NAME = 'neutrino';

/** Fields that make up oslo's context (request id, user, project), not the message's extras. */
const CONTEXT_KEYS = new Set(['reqId', 'requestId', 'globalRequestId', 'user', 'project']);
const OWN_KEYS = new Set(['level', 'time', 'name', 'msg', 'err', 'pid', 'hostname']);

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
let stampSecond = -1;
let stampPrefix = '';
/** oslo's `%(asctime)s.%(msecs)03d` with its default log_date_format `%Y-%m-%d %H:%M:%S`, local time. */
export function asctime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== stampSecond) {
    const d = new Date(second * 1000);
    stampPrefix = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
    stampSecond = second;
  }
  const frac = ms - second * 1000;
  return `${stampPrefix}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${Math.floor(frac)}`;
}

const show = (v: unknown): string => {
  if (typeof v === 'string') return v === '' || /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v) ?? String(v);
};

/** One line in oslo.log's text format; a traceback follows on lines of its own, each prefixed as oslo's logging_exception_prefix. */
export function formatText(o: Line, pid: number): string {
  const name = o.name ?? DEFAULT_NAME;
  const level = LEVEL_NAMES[o.level] ?? 'INFO';
  const stamp = asctime(o.time);
  const requestId = o.reqId ?? o.requestId;
  const context = requestId === undefined ? '[-]' : `[${o.globalRequestId ?? 'None'} ${requestId} ${o.user ?? '-'} ${o.project ?? '-'} - - - -]`;
  let text = `${stamp} ${pid} ${level} ${name} ${context} ${o.msg ?? ''}`;
  for (const k in o) {
    if (OWN_KEYS.has(k) || CONTEXT_KEYS.has(k)) continue;
    const v = o[k];
    if (v !== undefined) text += ` ${k}=${show(v)}`;
  }
  if (o.err) {
    text += `: ${o.err.message ?? o.err.type ?? 'error'}`;
    const trace = o.err.stack?.split('\n').slice(1) ?? [];
    for (const t of trace) text += `\n${stamp} ${pid} ERROR ${name} ${t}`;
  }
  return `${text}\n`;
}

/** One line as oslo.log's JSONFormatter writes it (its keys that mean something here). */
export function formatJson(o: Line, pid: number, host: string, binary: string): string {
  const context: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  for (const k in o) {
    if (OWN_KEYS.has(k)) continue;
    if (k === 'reqId' || k === 'requestId') context.request_id = o[k];
    else if (k === 'globalRequestId') context.global_request_id = o[k];
    else if (k === 'user' || k === 'project') context[k] = o[k];
    else extra[k] = o[k];
  }
  const message = o.err ? `${o.msg ?? ''}: ${o.err.message ?? o.err.type ?? 'error'}` : (o.msg ?? '');
  return `${JSON.stringify({
    message,
    asctime: asctime(o.time),
    name: o.name ?? DEFAULT_NAME,
    levelname: LEVEL_NAMES[o.level] ?? 'INFO',
    levelno: LEVEL_NOS[o.level] ?? 20,
    created: o.time / 1000,
    msecs: o.time % 1000,
    process: pid,
    process_name: binary,
    hostname: host,
    traceback: o.err?.stack ? o.err.stack.split('\n') : null,
    error_summary: o.err ? `${o.err.type ?? 'Error'}: ${o.err.message ?? ''}` : '',
    context,
    extra,
  })}\n`;
}

/** What a log line is written to: stdout, stderr or a file, reopened on demand (SIGHUP after logrotate). */
type Sink = DestinationStream & { reopen?: () => void; flushSync?: () => void };

/** pino's JSON line in, oslo's line out. */
function osloDestination(sink: Sink, settings: LogSettings): DestinationStream & { pending: boolean } {
  const pid = process.pid;
  const host = hostname();
  return {
    /** Whether lines were written since the last flush. */
    pending: false,
    write(line: string) {
      this.pending = true;
      let o: Line;
      try {
        o = JSON.parse(line) as Line;
      } catch {
        sink.write(line);
        return;
      }
      sink.write(settings.json ? formatJson(o, pid, host, settings.binary) : formatText(o, pid));
    },
  };
}

let root: Logger | null = null;
let sink: Sink | null = null;
let flushTimer: NodeJS.Timeout | null = null;
let flushAtExit: (() => void) | null = null;

/** What the log sink gathers before a write, and the longest a line waits. */
const BUFFERED = 8192;
const FLUSH_MS = 100;
let reopenOnHup: (() => void) | null = null;

/**
 * The process's one logger, as `settings` say (called once at start-up by the command; again,
 * in tests, to log elsewhere). Until then, lines at warning and above go to stderr in oslo's
 * format. A log file that cannot be opened throws (the caller names the option).
 */
export function setupLogging(settings: LogSettings): Logger {
  // Lines are gathered up to BUFFERED bytes (or FLUSH_MS) and written together, not one write
  // each: the access log's line per request was a write(2) per request. Written out at exit.
  const options = { sync: true, minLength: BUFFERED };
  const next: Sink = settings.file
    ? pino.destination({ dest: settings.file, append: true, mkdir: true, ...options })
    : pino.destination({ dest: 1, ...options }); // stdout, as oslo.log without log_file or use_stderr
  if (reopenOnHup) process.removeListener('SIGHUP', reopenOnHup);
  reopenOnHup = null;
  if (sink && sink !== next) sink.flushSync?.();
  sink = next;
  const out = osloDestination(next, settings);
  if (flushTimer) clearInterval(flushTimer);
  flushTimer = setInterval(() => {
    if (!out.pending) return;
    out.pending = false;
    next.flushSync?.();
  }, FLUSH_MS).unref();
  if (!flushAtExit) {
    flushAtExit = () => sink?.flushSync?.();
    process.on('exit', flushAtExit);
  }
  root = pino({ level: settings.debug ? 'debug' : 'info', base: null }, out);
  // logrotate renames the file and sends SIGHUP (postrotate): later lines go to a new file of the
  // same name. Without a file there is nothing to reopen, but SIGHUP still must not end the process.
  const log = root.child({ name: 'neutrino.log' });
  reopenOnHup = () => {
    if (settings.file) next.reopen?.();
    log.info({ file: settings.file ?? 'stdout' }, settings.file ? 'SIGHUP: log file reopened' : 'SIGHUP: logging to stdout, nothing to reopen');
  };
  process.on('SIGHUP', reopenOnHup);
  return root;
}

/** A named logger (oslo's logger name: neutrino.api, neutrino.agent.dhcp, ...). */
export function getLogger(name: string): Logger {
  root ??= pino(
    { level: 'warn', base: null },
    osloDestination(pino.destination({ dest: 2, sync: true }), { debug: false, json: false, binary: 'neutrino' }),
  );
  return root.child({ name });
}
