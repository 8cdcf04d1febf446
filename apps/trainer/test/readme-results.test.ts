// README results blocks (`<!-- results: docs/results/<name>.json#<table> -->` … `<!-- /results -->`) must be
// exactly what tooling/scripts/render-results.mjs generates from their results files: a hand-edited table or a
// results file re-written without re-rendering fails here, naming the block. The renderer is an ES module and
// jest here loads CommonJS, so its pure function `renderBlocks` runs in a child Node process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { tmpDir } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const RENDERER = path.join(ROOT, 'tooling', 'scripts', 'render-results.mjs');

interface Rendered {
  file: string;
  text?: string;
  blocks?: { spec: string; line: number; changed: boolean }[];
  error?: string;
}

/** renderBlocks of each README file (paths relative to `root`), or the error it raised. */
function render(root: string, files?: string[]): Rendered[] {
  const script = `
    import { readFileSync } from 'node:fs';
    import path from 'node:path';
    import { renderBlocks, readmeFiles } from ${JSON.stringify(pathToFileURL(RENDERER).href)};
    const [root, files] = JSON.parse(process.argv[1]);
    const out = (files ?? readmeFiles(root).map((f) => path.relative(root, f))).map((file) => {
      try { return { file, ...renderBlocks(readFileSync(path.join(root, file), 'utf8'), root, file) }; }
      catch (e) { return { file, error: e.message }; }
    });
    process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify([root, files ?? null])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`renderer failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Rendered[];
}

describe('README results blocks', () => {
  test('every block in the repository equals what render-results.mjs generates from its results file', () => {
    const all = render(ROOT);
    expect(all.map((r) => r.file)).toContain('README.md');
    for (const r of all) {
      expect(r.error).toBeUndefined();
      const stale = r.blocks!.filter((b) => b.changed).map((b) => `${r.file}:${b.line} ${b.spec}`);
      // The message names each stale block; run `node tooling/scripts/render-results.mjs` to regenerate.
      expect(stale).toEqual([]);
    }
    // The alignment experiment's tables are among them.
    const specs = all.flatMap((r) => r.blocks!.map((b) => b.spec));
    expect(specs).toEqual(expect.arrayContaining(['docs/results/align.json#judge', 'docs/results/align.json#steerability']));
  });

  test('a block is regenerated from its file; a stale one is reported; errors name README:line', () => {
    const root = tmpDir('readme-results');
    fs.mkdirSync(path.join(root, 'docs', 'results'), { recursive: true });
    const results = {
      command: 'pnpm experiment:x',
      seeds: [1, 2],
      wall_s: 12.6,
      machine: '2 cores',
      tables: {
        main: {
          columns: ['model', 'score'],
          rows: [
            ['a|b', 0.123456],
            ['c', null],
          ],
          note: 'a note',
        },
      },
    };
    fs.writeFileSync(path.join(root, 'docs', 'results', 'x.json'), JSON.stringify(results));
    const readme = 'intro\n\n<!-- results: docs/results/x.json#main -->\nhand-written\n<!-- /results -->\n\noutro\n';
    fs.writeFileSync(path.join(root, 'README.md'), readme);
    const [r] = render(root, ['README.md']);
    expect(r!.blocks).toEqual([{ spec: 'docs/results/x.json#main', line: 3, changed: true }]);
    expect(r!.text).toBe(
      'intro\n\n<!-- results: docs/results/x.json#main -->\n' +
        '_Generated from docs/results/x.json by `node tooling/scripts/render-results.mjs` — command: `pnpm experiment:x`; seeds: 1, 2; wall time: 13 s; machine: 2 cores._\n\n' +
        '| model | score |\n|---|---|\n| a\\|b | 0.1235 |\n| c | – |\n\na note\n<!-- /results -->\n\noutro\n',
    );
    // Rendering is idempotent: the regenerated README is up to date.
    fs.writeFileSync(path.join(root, 'README.md'), r!.text!);
    expect(render(root, ['README.md'])[0]!.blocks![0]!.changed).toBe(false);

    const bad = (text: string) => {
      fs.writeFileSync(path.join(root, 'README.md'), text);
      return render(root, ['README.md'])[0]!.error;
    };
    expect(bad('a\n<!-- results: docs/results/x.json#nope -->\n<!-- /results -->\n')).toMatch(
      /README\.md:2\).*no table "nope".*tables: main/,
    );
    expect(bad('<!-- results: docs/results/y.json#main -->\n<!-- /results -->\n')).toMatch(
      /README\.md:1: results file docs\/results\/y\.json does not exist/,
    );
    expect(bad('<!-- results: docs/results/x.json#main -->\nno end\n')).toMatch(
      /README\.md:1: block docs\/results\/x\.json#main has no closing/,
    );
  });

  test('the CLI --check passes on the repository as it is', () => {
    const ok = spawnSync(process.execPath, [RENDERER, '--check'], { encoding: 'utf8' });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
  });

  test('the CLI: a stale or broken block exits 1 naming it; --only renders one results file', () => {
    const root = tmpDir('readme-results-cli');
    fs.mkdirSync(path.join(root, 'docs', 'results'), { recursive: true });
    fs.mkdirSync(path.join(root, 'apps', 'x'), { recursive: true });
    const table = { tables: { t: { columns: ['a'], rows: [[1]] } } };
    fs.writeFileSync(path.join(root, 'docs', 'results', 'r.json'), JSON.stringify(table));
    // The root README's block names a results file nobody has written yet.
    const pending = '<!-- results: docs/results/none.json#t -->\npending\n<!-- /results -->\n';
    fs.writeFileSync(path.join(root, 'README.md'), pending);
    fs.writeFileSync(
      path.join(root, 'apps', 'x', 'README.md'),
      '# x\n\n<!-- results: docs/results/r.json#t -->\nstale\n<!-- /results -->\n',
    );
    const cli = (...args: string[]) => spawnSync(process.execPath, [RENDERER, ...args, '--root', root], { encoding: 'utf8' });
    const stale = cli('--check');
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain('README.md:1: results file docs/results/none.json does not exist');
    expect(stale.stderr).toContain('apps/x/README.md:3: results block docs/results/r.json#t differs from its results file');
    // --only: that file's blocks alone (what an experiment script runs); the pending block stays as it is.
    expect(cli('--only', 'docs/results/r.json').status).toBe(0);
    expect(fs.readFileSync(path.join(root, 'apps', 'x', 'README.md'), 'utf8')).toContain('| a |\n|---|\n| 1 |');
    expect(fs.readFileSync(path.join(root, 'README.md'), 'utf8')).toBe(pending);
    expect(cli('--check', '--only', 'docs/results/r.json').status).toBe(0);
    expect(cli('--check').status).toBe(1); // still: the pending block has no results file
  });
});
