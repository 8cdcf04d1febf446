// One command-line convention for every gptlab program, on node's util.parseArgs:
//   - each command declares its flags once (type, help, default, choices, range, required); help is made from it;
//   - a usage error is one line naming the flag, plus "see <program> <command> --help", exit code 2;
//   - any other failure is one line, exit code 1; `--help` and `--version` work everywhere;
//   - nothing below runCli calls process.exit: commands return an exit code or throw.
import { parseArgs } from 'node:util';
import { closestNames } from './edit-distance';
import { UsageError } from './usage-error';

export { UsageError };

export type FlagType = 'int' | 'float' | 'string' | 'bool' | 'list';
export type FlagValue = string | number | boolean | string[];

export interface FlagSpec {
  type: FlagType;
  help: string;
  /** Shown in help. parseFlags itself fills no defaults (callers may layer config files); see withDefaults. */
  default?: FlagValue;
  /** Allowed values of a string flag. */
  choices?: readonly string[];
  /** Inclusive range of a number flag. */
  min?: number;
  max?: number;
  required?: boolean;
  /** One-letter alias: -o for --out. */
  short?: string;
  /** Placeholder in help: --out DIR. */
  metavar?: string;
  /** A list flag splits its values at commas unless this is false (values that may hold commas: stop strings). */
  split?: boolean;
}

export type FlagSpecs = Record<string, FlagSpec>;
export type ParsedFlags = Record<string, FlagValue>;
export interface ParseResult {
  flags: ParsedFlags;
  positionals: string[];
}

/** camelCase of a kebab name: "n-layer" → "nLayer". */
export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function numberValue(name: string, spec: FlagSpec, raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (spec.type === 'int' && !Number.isInteger(v))) {
    throw new UsageError(`--${name} expects ${spec.type === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
  }
  if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
    const range = spec.max === undefined ? `>= ${spec.min}` : spec.min === undefined ? `<= ${spec.max}` : `in [${spec.min}, ${spec.max}]`;
    throw new UsageError(`--${name} must be ${range}, got ${raw}`);
  }
  return v;
}

/** The value of one flag from its raw text, checked against its spec (also used for config-file values). */
export function flagValue(name: string, spec: FlagSpec, raw: string | boolean | string[]): FlagValue {
  switch (spec.type) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (/^(1|true|yes)$/i.test(String(raw))) return true;
      if (/^(0|false|no)$/i.test(String(raw))) return false;
      throw new UsageError(`--${name} is a switch: use --${name} or --no-${name}, got "${String(raw)}"`);
    case 'int':
    case 'float':
      return numberValue(name, spec, String(raw));
    case 'list': {
      const values = Array.isArray(raw) ? raw : [String(raw)];
      return spec.split === false ? values : values.flatMap((v) => v.split(',')).filter((v) => v !== '');
    }
    case 'string': {
      const v = String(raw);
      if (spec.choices && !spec.choices.includes(v))
        throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}; got "${v}"`);
      return v;
    }
  }
}

function unknownFlag(raw: string, specs: FlagSpecs): UsageError {
  const name = raw.replace(/^-+/, '').split('=')[0]!;
  const close = closestNames(name, Object.keys(specs));
  return new UsageError(
    `unknown flag ${raw.split('=')[0]}${close.length ? ` (did you mean ${close.map((c) => '--' + c).join(', ')}?)` : ''}`,
  );
}

/**
 * Parses `--name value`, `--name=value`, `--switch`, `--no-switch`; a list flag takes comma-separated values,
 * may repeat, and also takes the plain words that follow it (`--input a.txt b.txt`). Keys are the kebab names.
 */
export function parseFlags(argv: readonly string[], specs: FlagSpecs): ParseResult {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, s] of Object.entries(specs)) {
    options[name] = { type: s.type === 'bool' ? 'boolean' : 'string' };
    if (s.type === 'list') options[name]!.multiple = true;
    if (s.short) options[name]!.short = s.short;
    if (s.type === 'bool') options[`no-${name}`] = { type: 'boolean' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true, tokens: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const opt = /'(-[^' ]+)/.exec(err.message)?.[1] ?? '';
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw unknownFlag(opt, specs);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = opt.replace(/^-+/, '');
      if (/does not take an argument/.test(err.message)) throw new UsageError(`--${name} is a switch and takes no value`);
      const spec = specs[name] ?? Object.entries(specs).find(([, s]) => s.short === name)?.[1];
      const hint = /ambiguous/.test(err.message) ? `; a value starting with "-" goes as ${opt}=VALUE` : '';
      throw new UsageError(`${opt} needs a value${spec ? ` (${spec.help})` : ''}${hint}`);
    }
    throw new UsageError(err.message.split('\n')[0]!);
  }
  const flags: ParsedFlags = {};
  const positionals: string[] = [];
  let list: string | undefined; // a list flag still taking plain words
  for (const t of parsed.tokens ?? []) {
    if (t.kind === 'option-terminator') {
      list = undefined;
      continue;
    }
    if (t.kind === 'positional') {
      if (list) (flags[list] as string[]).push(...(flagValue(list, specs[list]!, t.value) as string[]));
      else positionals.push(t.value);
      continue;
    }
    const isNo = t.name.startsWith('no-') && !specs[t.name];
    const name = isNo ? t.name.slice(3) : t.name;
    const spec = specs[name]!;
    list = undefined;
    if (spec.type === 'bool') flags[name] = !isNo;
    else if (spec.type === 'list') {
      const prev = (flags[name] as string[] | undefined) ?? [];
      flags[name] = [...prev, ...(flagValue(name, spec, t.value ?? '') as string[])];
      list = t.inlineValue ? undefined : name;
    } else flags[name] = flagValue(name, spec, t.value ?? '');
  }
  for (const [name, s] of Object.entries(specs)) {
    if (s.required && flags[name] === undefined) throw new UsageError(`missing required flag --${name} (${s.help})`);
  }
  return { flags, positionals };
}

/** The parsed flags over each spec's default. */
export function withDefaults(specs: FlagSpecs, flags: ParsedFlags): ParsedFlags {
  const out: ParsedFlags = {};
  for (const [name, s] of Object.entries(specs)) if (s.default !== undefined) out[name] = s.default;
  return { ...out, ...flags };
}

/** Help rows for a command's flags. */
export function formatFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const meta =
      s.type === 'bool' ? '' : ` ${s.metavar ?? (s.type === 'int' || s.type === 'float' ? 'N' : s.type === 'list' ? 'X,...' : 'X')}`;
    const short = s.short ? `-${s.short}, ` : '';
    const range = s.min !== undefined || s.max !== undefined ? ` [${s.min ?? ''}..${s.max ?? ''}]` : '';
    const choices = s.choices ? ` [${s.choices.join('|')}]` : '';
    const tail = s.required
      ? ' (required)'
      : s.default !== undefined
        ? ` (default ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})`
        : '';
    return [`  ${short}--${name}${meta}`, `${s.help}${choices}${range}${tail}`] as const;
  });
  if (rows.length === 0) return '';
  const w = Math.min(34, Math.max(...rows.map((r) => r[0].length)) + 2);
  return rows.map(([a, b]) => (a.length >= w ? `${a}\n${' '.repeat(w)}${b}` : a.padEnd(w) + b)).join('\n');
}

export interface Command {
  name: string;
  /** One line for the program's command list. */
  summary: string;
  /** Usage line after the program name, e.g. "pretrain --corpus FILE [flags]". */
  usage?: string;
  /** Extra help text after the flags (examples, notes). */
  details?: string;
  flags: FlagSpecs;
  /** Returns the exit code (0 when undefined). Throws UsageError for bad input, Error for failures. */
  run(args: ParseResult): Promise<number | void> | number | void;
}

export interface Program {
  name: string;
  version: string;
  summary: string;
  commands: readonly Command[];
  /** Where lines go (tests capture them). */
  out?: (s: string) => void;
  err?: (s: string) => void;
}

export function commandHelp(program: Program, c: Command): string {
  const flags = formatFlags({ ...c.flags, help: { type: 'bool', short: 'h', help: 'this help' } });
  return [
    `usage: ${program.name} ${c.usage ?? `${c.name} [flags]`}`,
    '',
    c.summary,
    '',
    'flags:',
    flags,
    ...(c.details ? ['', c.details] : []),
  ].join('\n');
}

export function programHelp(program: Program): string {
  const w = Math.max(...program.commands.map((c) => c.name.length)) + 4;
  return [
    `usage: ${program.name} <command> [flags]     (${program.name} <command> --help for its flags)`,
    '',
    program.summary,
    '',
    'commands:',
    ...program.commands.map((c) => `  ${c.name.padEnd(w)}${c.summary}`),
    '',
    `  --version${' '.repeat(Math.max(1, w - 7))}print the version`,
  ].join('\n');
}

/** Runs one invocation and returns the exit code: 0 ok, 1 failure, 2 usage error. */
export async function runCli(program: Program, argv: readonly string[]): Promise<number> {
  const out = program.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const err = program.err ?? ((s: string) => process.stderr.write(s + '\n'));
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(programHelp(program));
    return 0;
  }
  if (name === '--version' || name === '-v') {
    out(`${program.name} ${program.version}`);
    return 0;
  }
  const command = program.commands.find((c) => c.name === name);
  if (!command) {
    const close = closestNames(
      name,
      program.commands.map((c) => c.name),
    );
    err(
      `${program.name}: unknown command "${name}"${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}; see ${program.name} --help`,
    );
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out(commandHelp(program, command));
    return 0;
  }
  if (rest.includes('--version')) {
    out(`${program.name} ${program.version}`);
    return 0;
  }
  try {
    const code = await command.run(parseFlags(rest, command.flags));
    return code ?? 0;
  } catch (e) {
    if (e instanceof UsageError || (e as { exitCode?: number }).exitCode === 2) {
      err(`${program.name} ${command.name}: ${(e as Error).message}; see ${program.name} ${command.name} --help`);
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    err(`${program.name} ${command.name}: ${msg.split('\n')[0]}`);
    if (process.env.GPTLAB_DEBUG && e instanceof Error && e.stack) err(e.stack);
    return 1;
  }
}
