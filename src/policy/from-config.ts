// The policy engine as [oslo_policy] configures it. Files are found the way
// oslo.policy finds them (oslo.config's find_file): an absolute path as is, a
// relative one in the directories of the --config-files, the last file's
// directory first. A policy_file that is not found means "defaults only", as
// in oslo; so does a policy_dirs entry that is not found. Every file of a
// policy directory (not hidden, no subdirectories) is read in sorted order
// after policy_file, a later file's rule replacing an earlier one's.

import { readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Config } from '../config/index.js';
import type { RuleSpec } from './defaults.js';
import { PolicyEngine } from './engine.js';
import { PolicyFileError } from './file.js';

/** The options read here; `cfg` (a whole Config) fits as is. */
export type PolicyConfig = Pick<Config, 'oslo_policy'>;

/** `defaults`: the default rules of the loaded plugins (default: all). */
export function policyFromConfig(cfg: PolicyConfig, configFiles: readonly string[], defaults?: readonly RuleSpec[]): PolicyEngine {
  const o = cfg.oslo_policy;
  return new PolicyEngine({
    defaults,
    policyFiles: policyFilesFromConfig(cfg, configFiles),
    enforceNewDefaults: o.enforce_new_defaults,
    enforceScope: o.enforce_scope,
  });
}

/** policy_file (when found), then the files of every policy_dirs directory found, in load order. */
export function policyFilesFromConfig(cfg: PolicyConfig, configFiles: readonly string[]): string[] {
  const o = cfg.oslo_policy;
  const files: string[] = [];
  const main = o.policy_file ? findConfigPath(o.policy_file, configFiles) : undefined;
  if (main !== undefined) {
    if (statSync(main).isDirectory())
      throw new PolicyFileError(main, undefined, '[oslo_policy] policy_file names a directory; list it in policy_dirs instead');
    files.push(main);
  }
  for (const entry of o.policy_dirs) {
    const dir = entry ? findConfigPath(entry, configFiles) : undefined;
    if (dir === undefined) continue;
    if (!statSync(dir).isDirectory()) throw new PolicyFileError(dir, undefined, '[oslo_policy] policy_dirs names a file, not a directory');
    files.push(...policyDirFiles(dir));
  }
  return files;
}

function policyDirFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && (e.isFile() || (e.isSymbolicLink() && isFile(join(dir, e.name)))))
    .map((e) => e.name)
    .sort()
    .map((name) => join(dir, name));
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false; // a dangling link
  }
}

/** oslo.config's find_file, over the config files' directories only. */
function findConfigPath(name: string, configFiles: readonly string[]): string | undefined {
  if (isAbsolute(name)) return exists(name) ? name : undefined;
  for (const f of [...configFiles].reverse()) {
    const p = join(dirname(f), name);
    if (exists(p)) return p;
  }
  return undefined;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
