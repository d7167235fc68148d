// A configuration problem found at start-up. The message is complete on its own (it names the
// file, section and option) so the CLI can print it and exit without a stack trace.
export interface ConfigErrorWhere {
  file?: string;
  line?: number;
  section?: string;
  option?: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file?: string;
  readonly line?: number;
  readonly section?: string;
  readonly option?: string;

  constructor(message: string, where: ConfigErrorWhere = {}) {
    super(message);
    this.file = where.file;
    this.line = where.line;
    this.section = where.section;
    this.option = where.option;
  }
}
