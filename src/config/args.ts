import { ConfigError } from './errors.js';

/** What rubato's command line says, in Tempo's flag names. */
export interface CliArgs {
  /** -config.file=PATH */
  configFile: string | undefined;
  /** -config.expand-env=true: expand ${VAR} in the file before parsing */
  expandEnv: boolean;
  /** -config.verify: check the config and exit */
  verify: boolean;
  /** -target=NAME: overrides `target` from the file */
  target: string | undefined;
  /** -version: print the version and exit */
  version: boolean;
  /** Flags and arguments rubato does not know (reported as a warning, as they are harmless). */
  unknown: string[];
}

const STRING_FLAGS = new Set(['config.file', 'target']);
const BOOL_FLAGS = new Set(['config.expand-env', 'config.verify', 'version']);

// Go's strconv.ParseBool, which Tempo's flag package uses.
function parseGoBool(name: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new ConfigError(`invalid boolean value "${value}" for flag -${name}`, name);
}

/**
 * Parses Go-style flags as Tempo takes them: `-name=value`, `-name value`, `--name=value`, and bare
 * `-name` for booleans. Unknown flags do not stop parsing.
 */
export function parseArgs(args: readonly string[]): CliArgs {
  const out: CliArgs = { configFile: undefined, expandEnv: false, verify: false, target: undefined, version: false, unknown: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      out.unknown.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.unknown.push(arg);
      continue;
    }
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    let value = eq === -1 ? undefined : body.slice(eq + 1);
    if (STRING_FLAGS.has(name)) {
      if (value === undefined) {
        value = args[i + 1];
        if (value === undefined) throw new ConfigError(`flag needs an argument: -${name}`, name);
        i++;
      }
      if (name === 'config.file') out.configFile = value;
      else out.target = value;
    } else if (BOOL_FLAGS.has(name)) {
      const on = value === undefined ? true : parseGoBool(name, value);
      if (name === 'config.expand-env') out.expandEnv = on;
      else if (name === 'config.verify') out.verify = on;
      else out.version = on;
    } else {
      out.unknown.push(arg);
    }
  }
  return out;
}
