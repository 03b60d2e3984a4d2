/**
 * A configuration problem that must stop start-up: wrong type or value, unreadable file, bad YAML.
 * `key` is the dotted config key at fault when there is one, so callers and tests need not parse text.
 */
export class ConfigError extends Error {
  readonly key: string | undefined;

  constructor(message: string, key?: string) {
    super(message);
    this.name = 'ConfigError';
    this.key = key;
  }
}
