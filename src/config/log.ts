// The process's logging from [DEFAULT] debug, log_file, log_dir and use_json, as oslo.log reads them.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type LogSettings, setupLogging } from '../core/log.js';
import { ConfigError } from './errors.js';
import type { Config } from './load.js';
import type { OptDef } from './options.js';
import { SCHEMA } from './schema.js';

/** oslo.log's choice of file: log_file as given, under log_dir when both are set, <binary>.log in log_dir when only it is. */
export function logFilePath(cfg: Config, binary: string): string | undefined {
  const file = cfg.DEFAULT.log_file;
  const dir = cfg.DEFAULT.log_dir;
  if (file && !dir) return file;
  if (file && dir) return join(dir, file);
  if (dir) return join(dir, `${binary}.log`);
  return undefined;
}

/** Sets up the process's logger; a log file that cannot be opened names the options. */
export function configureLogging(cfg: Config, o: { debug?: boolean; binary: string }): void {
  const file = logFilePath(cfg, o.binary);
  const settings: LogSettings = {
    debug: Boolean(o.debug || cfg.DEFAULT.debug),
    json: cfg.DEFAULT.use_json,
    binary: o.binary,
    ...(file ? { file } : {}),
  };
  try {
    setupLogging(settings);
  } catch (err) {
    throw new ConfigError(`[DEFAULT] log_file / log_dir: cannot open ${file}: ${(err as Error).message}`, {});
  }
}

/** At debug level, every option's value, secrets masked, as oslo.config's log_opt_values at start-up. */
export function logOptionValues(cfg: Config, log: Logger, configFiles: string[]): void {
  if (!log.isLevelEnabled('debug')) return;
  log.debug({ files: configFiles }, 'Configuration options gathered from the config files');
  const sections = cfg as unknown as Record<string, Record<string, unknown>>;
  for (const [section, opts] of Object.entries(SCHEMA) as [string, Record<string, OptDef<unknown>>][]) {
    for (const [name, def] of Object.entries(opts)) {
      const value = sections[section]?.[name];
      log.debug({}, `${section}.${name} = ${def.secret && value ? '****' : JSON.stringify(value ?? null)}`);
    }
  }
}
