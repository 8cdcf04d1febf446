// A command's settings as one table of flag specs (kebab names, defaults included). From the table come the
// flags and their help, the defaults object (camelCase keys, what the library functions take), the keys a
// --config JSON file may set, and the checks of values that arrive by config file or library call.
import * as fs from 'node:fs';
import { camel, flagValue, UsageError, type FlagSpecs, type FlagValue, type ParsedFlags } from '@gptlab/common/node';

/** "nLayer" → "n-layer". */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** The defaults of a table as a camelCase object. */
export function defaultsOf(specs: FlagSpecs): Record<string, FlagValue> {
  const out: Record<string, FlagValue> = {};
  for (const [name, s] of Object.entries(specs)) if (s.default !== undefined) out[camel(name)] = s.default;
  return out;
}

/** Parsed flags as camelCase settings, without the flags that are not settings (e.g. --config, --resume). */
export function settingsOf(flags: ParsedFlags, notSettings: readonly string[] = []): Record<string, FlagValue> {
  const out: Record<string, FlagValue> = {};
  for (const [k, v] of Object.entries(flags)) if (!notSettings.includes(k)) out[camel(k)] = v;
  return out;
}

/** Checks one setting against its spec (type, range, choices); errors name the flag. */
export function checkSetting(specs: FlagSpecs, key: string, value: unknown, where = ''): FlagValue {
  const name = kebab(key);
  const spec = specs[name];
  if (!spec) throw new UsageError(`${where}unknown setting "${key}"; valid settings: ${Object.keys(specs).join(', ')}`);
  const isNumber = spec.type === 'int' || spec.type === 'float';
  if (isNumber && typeof value !== 'number') throw new UsageError(`${where}--${name} must be a number, got ${JSON.stringify(value)}`);
  if (spec.type === 'bool' && typeof value !== 'boolean')
    throw new UsageError(`${where}--${name} must be true or false, got ${JSON.stringify(value)}`);
  if (spec.type === 'list' && typeof value === 'string') return flagValue(name, spec, value);
  if (spec.type === 'list' && !(Array.isArray(value) && value.every((v) => typeof v === 'string'))) {
    throw new UsageError(`${where}--${name} must be a list of strings, got ${JSON.stringify(value)}`);
  }
  if (spec.type === 'string' && typeof value !== 'string')
    throw new UsageError(`${where}--${name} must be a string, got ${JSON.stringify(value)}`);
  try {
    return flagValue(name, spec, isNumber ? String(value) : (value as string | boolean | string[]));
  } catch (e) {
    throw new UsageError(where + (e as Error).message);
  }
}

/** Checks every defined setting of `settings` against the table. */
export function checkSettings(specs: FlagSpecs, settings: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(settings)) if (v !== undefined) checkSetting(specs, k, v);
}

/** Reads a --config JSON file: any settings of the table, kebab-case or camelCase keys. */
export function readConfigFile(file: string, specs: FlagSpecs, notSettings: readonly string[] = []): Record<string, FlagValue> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--config ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`--config ${file}: expected a JSON object`);
  const settings = Object.fromEntries(Object.entries(specs).filter(([name]) => !notSettings.includes(name)));
  const out: Record<string, FlagValue> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>))
    out[camel(k)] = checkSetting(settings, camel(k), v, `--config ${file}: `);
  return out;
}
