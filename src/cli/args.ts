// A strict command-line parser: known flags only, typed values, and a UsageError (exit status 2)
// that says what was wrong. --help (or -h) anywhere before `--` asks for the usage instead.

export class UsageError extends Error {}

/** Thrown for --help: the command prints `usage` on stdout and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super('help requested');
  }
}

export function isHelpFlag(arg: string | undefined): boolean {
  return arg === '--help' || arg === '-h';
}

export type FlagKind = 'string' | 'boolean' | 'bytes' | 'duration' | 'integer';

export interface CommandSpec {
  usage: string;
  positionals: string[];
  /** positionals after these are optional */
  optionalPositionals?: string[];
  flags: Record<string, FlagKind>;
}

export interface Parsed {
  positionals: string[];
  flags: Record<string, string | boolean | number | undefined>;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) throw new UsageError(`${JSON.stringify(text)} is not a size (examples: 512M, 2G, 1048576)`);
  const bytes = Math.floor(Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`size ${JSON.stringify(text)} is too large`);
  return bytes;
}

/** Milliseconds of a duration like 90s, 5m, 1h or 0. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${JSON.stringify(text)} is not a duration (examples: 0, 30s, 5m, 1h)`);
  if (match[2] === undefined && Number(match[1]) !== 0) throw new UsageError(`duration ${JSON.stringify(text)} needs a unit: ms, s, m, h or d`);
  const ms = Math.floor(Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] ?? 1));
  if (!Number.isSafeInteger(ms)) throw new UsageError(`duration ${JSON.stringify(text)} is too long`);
  return ms;
}

export function parseArgs(argv: string[], spec: CommandSpec): Parsed {
  const positionals: string[] = [];
  const flags: Parsed['flags'] = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (isHelpFlag(arg)) throw new HelpRequested(spec.usage);
    if (arg.startsWith('-') && !arg.startsWith('--') && arg !== '-') {
      throw new UsageError(`unknown option ${arg} (options are spelled --name; put -- before a path that starts with -)\nusage: ${spec.usage}`);
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const [rawName, inlineValue] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const kind = Object.hasOwn(spec.flags, rawName) ? spec.flags[rawName] : undefined;
    if (!kind) throw new UsageError(`unknown option --${rawName}\nusage: ${spec.usage}`);
    if (Object.hasOwn(flags, rawName)) throw new UsageError(`--${rawName} is given more than once`);
    if (kind === 'boolean') {
      if (inlineValue !== undefined) throw new UsageError(`--${rawName} takes no value`);
      flags[rawName] = true;
      continue;
    }
    const value = inlineValue ?? argv[++i];
    if (value === undefined || (inlineValue === undefined && value.startsWith('--'))) throw new UsageError(`--${rawName} needs a value\nusage: ${spec.usage}`);
    if (kind === 'bytes') flags[rawName] = parseBytes(value);
    else if (kind === 'duration') flags[rawName] = parseDuration(value);
    else if (kind === 'integer') {
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UsageError(`--${rawName} needs a whole number, not ${JSON.stringify(value)}`);
      flags[rawName] = Number(value);
    } else if (value === '') throw new UsageError(`--${rawName} needs a non-empty value\nusage: ${spec.usage}`);
    else flags[rawName] = value;
  }
  const required = spec.positionals.length;
  const allowed = required + (spec.optionalPositionals?.length ?? 0);
  if (positionals.length < required) throw new UsageError(`missing ${spec.positionals.slice(positionals.length).map((p) => `<${p}>`).join(' ')}\nusage: ${spec.usage}`);
  if (positionals.length > allowed) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[allowed])}\nusage: ${spec.usage}`);
  return { positionals, flags };
}
