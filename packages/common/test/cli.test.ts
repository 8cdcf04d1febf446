import { parseFlags, runCli, withDefaults, UsageError, type FlagSpecs, type Program } from '../src/node';

const specs: FlagSpecs = {
  steps: { type: 'int', help: 'optimizer steps', min: 1, default: 100 },
  lr: { type: 'float', help: 'learning rate' },
  input: { type: 'list', help: 'input files' },
  json: { type: 'bool', help: 'print JSON' },
  mode: { type: 'string', help: 'mode', choices: ['fast', 'slow'] },
  out: { type: 'string', help: 'output directory', short: 'o' },
};

function usage(argv: string[], s: FlagSpecs = specs): string {
  try {
    parseFlags(argv, s);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('parseFlags', () => {
  it('parses every form', () => {
    expect(parseFlags(['--steps', '5', '--input', 'a', 'b', '--json', '-o', 'd', 'x'], specs)).toEqual({
      flags: { steps: 5, input: ['a', 'b'], json: true, out: 'd' },
      positionals: ['x'],
    });
    expect(parseFlags(['--steps=5', '--no-json', '--input=a,b', 'p', '--lr=-1e-3'], specs)).toEqual({
      flags: { steps: 5, json: false, input: ['a', 'b'], lr: -0.001 },
      positionals: ['p'],
    });
    expect(parseFlags(['--input', 'a', '--input', 'b,c'], specs).flags.input).toEqual(['a', 'b', 'c']);
    expect(withDefaults(specs, parseFlags([], specs).flags)).toEqual({ steps: 100 });
  });
  it('usage errors are one line naming the flag', () => {
    expect(usage(['--stepz', '5'])).toBe('unknown flag --stepz (did you mean --steps?)');
    expect(usage(['--steps'])).toBe('--steps needs a value (optimizer steps)');
    expect(usage(['--steps', 'x'])).toBe('--steps expects an integer, got "x"');
    expect(usage(['--steps', '0'])).toBe('--steps must be >= 1, got 0');
    expect(usage(['--lr', 'NaN'])).toBe('--lr expects a number, got "NaN"');
    expect(usage(['--json=yes'])).toBe('--json is a switch and takes no value');
    expect(usage(['--mode', 'medium'])).toBe('--mode must be one of fast, slow; got "medium"');
    expect(usage(['--lr', '-1'])).toMatch(/^--lr needs a value .*--lr=VALUE$/);
    expect(usage([], { f: { type: 'string', help: 'the file', required: true } })).toBe('missing required flag --f (the file)');
    for (const m of [usage(['--stepz']), usage(['--steps', 'x'])]) expect(m).not.toContain('\n');
  });
});

describe('runCli', () => {
  function program(lines: string[]): Program {
    return {
      name: 'prog',
      version: '1.2.3',
      summary: 'a test program',
      out: (s) => lines.push(`out:${s}`),
      err: (s) => lines.push(`err:${s}`),
      commands: [
        { name: 'go', summary: 'goes', flags: specs, run: ({ flags }) => (flags.json ? 0 : 4) },
        {
          name: 'fail',
          summary: 'fails',
          flags: {},
          run: () => {
            throw new Error('disk full\nstack');
          },
        },
      ],
    };
  }
  it('exit codes: 0 ok, 2 usage, 1 failure, command codes pass through', async () => {
    const lines: string[] = [];
    const p = program(lines);
    expect(await runCli(p, ['go', '--json'])).toBe(0);
    expect(await runCli(p, ['go'])).toBe(4);
    expect(await runCli(p, ['go', '--steps', 'q'])).toBe(2);
    expect(await runCli(p, ['gp'])).toBe(2);
    expect(await runCli(p, ['fail'])).toBe(1);
    expect(lines).toEqual([
      'err:prog go: --steps expects an integer, got "q"; see prog go --help',
      'err:prog: unknown command "gp" (did you mean go?); see prog --help',
      'err:prog fail: disk full',
    ]);
  });
  it('--help on the program and on every command, --version everywhere', async () => {
    const lines: string[] = [];
    const p = program(lines);
    expect(await runCli(p, ['--version'])).toBe(0);
    expect(await runCli(p, ['go', '--version'])).toBe(0);
    expect(lines.splice(0)).toEqual(['out:prog 1.2.3', 'out:prog 1.2.3']);
    expect(await runCli(p, [])).toBe(0);
    expect(lines.pop()).toMatch(/commands:\n {2}go +goes\n {2}fail +fails/);
    for (const c of ['go', 'fail']) {
      expect(await runCli(p, [c, '--help'])).toBe(0);
      expect(lines.pop()).toMatch(new RegExp(`^out:usage: prog ${c}`));
    }
  });
});
