// `neutrino config sample [--output-dir DIR]`: the annotated sample files (src/config/sample.ts),
// written into DIR, or neutron.conf alone on stdout.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/index.js';
import { parseOptions } from '../config/command-line.js';
import { SAMPLE_FILES, sampleConfigs } from '../config/sample.js';

const USAGE = `usage: neutrino config sample [--output-dir DIR]

Writes ${SAMPLE_FILES.join(', ')} into DIR
(every option commented out with its help and default); without --output-dir prints neutron.conf.
`;

export function runConfigCommand(argv: string[]): void {
  const spec = { 'output-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
  const { values, positionals } = parseOptions(argv, spec, USAGE, (m) => new ConfigError(m, {}));
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (positionals.length !== 1 || positionals[0] !== 'sample')
    throw new ConfigError(`unknown command "config ${positionals.join(' ')}"\n\n${USAGE}`, {});
  const files = sampleConfigs();
  const dir = values['output-dir'];
  if (dir === undefined) {
    process.stdout.write(files['neutron.conf']);
    return;
  }
  mkdirSync(dir, { recursive: true });
  for (const name of SAMPLE_FILES) writeFileSync(join(dir, name), files[name]);
  process.stdout.write(`wrote ${SAMPLE_FILES.map((f) => join(dir, f)).join(', ')}\n`);
}
