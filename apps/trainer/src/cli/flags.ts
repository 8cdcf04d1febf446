// A small, strict flag parser: every command declares its flags; an unknown flag or a bad value is a
// UsageError that names the flag and lists the valid ones. No CLI framework needed.

export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagType = 'int' | 'float' | 'string' | 'bool' | 'list';

export interface FlagSpec {
  type: FlagType;
  help: string;
  /** Shown in help; the parser itself never fills defaults (callers merge config layers). */
  default?: string | number | boolean;
  /** Allowed values for string flags. */
  choices?: readonly string[];
  /** Placeholder in help text. */
  metavar?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValue = string | number | boolean | string[];
export type ParsedFlags = Record<string, FlagValue>;

export interface ParseResult {
  flags: ParsedFlags;
  positionals: string[];
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** camelCase of a kebab flag name: "n-layer" → "nLayer". */
export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function parseNumber(flag: string, type: 'int' | 'float', raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (type === 'int' && !Number.isInteger(v))) {
    throw new UsageError(`--${flag} expects ${type === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
  }
  return v;
}

/**
 * Parses `--name value`, `--name=value`, `--flag` (bool), `--no-flag` (bool false); list flags collect every
 * value up to the next flag and may repeat. Keys of the result are the kebab names as declared.
 */
export function parseFlags(argv: readonly string[], specs: FlagSpecs, command: string): ParseResult {
  const flags: ParsedFlags = {};
  const positionals: string[] = [];
  const names = Object.keys(specs);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let name = arg.slice(2);
    let inline: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      inline = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    let spec = specs[name];
    if (!spec && name.startsWith('no-') && specs[name.slice(3)]?.type === 'bool' && inline === undefined) {
      flags[name.slice(3)] = false;
      continue;
    }
    if (!spec) {
      const close = names.filter((n) => n.includes(name) || name.includes(n) || editDistance(n, name) <= 2).slice(0, 3);
      const hint = close.length ? ` (did you mean ${close.map((c) => '--' + c).join(', ')}?)` : '';
      throw new UsageError(
        `unknown flag --${name} for \`gptlab-train ${command}\`${hint}; valid flags: ${names.map((n) => '--' + n).join(' ')}`,
      );
    }
    if (spec.type === 'bool') {
      if (inline === undefined) flags[name] = true;
      else if (/^(1|true|yes)$/i.test(inline)) flags[name] = true;
      else if (/^(0|false|no)$/i.test(inline)) flags[name] = false;
      else throw new UsageError(`--${name} is a switch: use --${name} or --no-${name}, got "${inline}"`);
      continue;
    }
    const values: string[] = [];
    if (inline !== undefined) values.push(inline);
    else if (spec.type === 'list') {
      while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) values.push(argv[++i]!);
    } else if (i + 1 < argv.length && !(argv[i + 1]!.startsWith('--') && argv[i + 1]!.length > 2)) {
      values.push(argv[++i]!);
    }
    if (values.length === 0) throw new UsageError(`--${name} needs a value (${spec.help})`);
    spec = spec as FlagSpec;
    switch (spec.type) {
      case 'int':
      case 'float':
        flags[name] = parseNumber(name, spec.type, values[0]!);
        break;
      case 'string':
        if (spec.choices && !spec.choices.includes(values[0]!)) {
          throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}; got "${values[0]}"`);
        }
        flags[name] = values[0]!;
        break;
      case 'list': {
        const prev = flags[name];
        const list = Array.isArray(prev) ? prev : [];
        flags[name] = [...list, ...values.flatMap((v) => (v.includes(',') ? v.split(',').filter(Boolean) : [v]))];
        break;
      }
    }
  }
  return { flags, positionals };
}

/** Help text for a command's flags. */
export function formatFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const meta = s.type === 'bool' ? '' : ` ${s.metavar ?? (s.type === 'int' || s.type === 'float' ? 'N' : s.type === 'list' ? 'X...' : 'X')}`;
    const def = s.default !== undefined ? ` (default ${String(s.default)})` : '';
    const choices = s.choices ? ` [${s.choices.join('|')}]` : '';
    return [`  --${name}${meta}`, `${s.help}${choices}${def}`] as const;
  });
  const w = Math.min(34, Math.max(...rows.map((r) => r[0].length)) + 2);
  return rows.map(([a, b]) => (a.length >= w ? `${a}\n${' '.repeat(w)}${b}` : a.padEnd(w) + b)).join('\n');
}

/** Reads a typed flag value, with a message naming the flag when the type is wrong. */
export function getFlag<T extends FlagValue>(flags: ParsedFlags, name: string): T | undefined {
  return flags[name] as T | undefined;
}
