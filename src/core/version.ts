// The version of the installed package, read from its package.json (the one place it is written):
// `neutrino --version` prints it, the OpenAPI document carries it.
import { readFileSync } from 'node:fs';

/** package.json sits three levels above this module once compiled (dist/src/core/version.js). */
const PACKAGE_JSON = new URL('../../../package.json', import.meta.url);

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`${PACKAGE_JSON.pathname} has no version`);
  return pkg.version;
}
