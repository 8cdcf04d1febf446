// The browser entries of gptlab's libraries bundle with esbuild for platform=browser without any Node
// built-in, and without tfjs-node or @gptlab/tensor-native; the Node-only entries do reach Node built-ins
// (the check can fail).
import { builtinModules } from 'node:module';
import { build, type Message } from 'esbuild';

const BUILTIN = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/**
 * Bundles `export * from spec` for the browser. esbuild resolves as a browser bundler does (packages'
 * `browser` fields map tfjs's optional Node modules away), so a Node built-in it cannot resolve is one the
 * bundle would really need: those are returned, with the importing files; `inputs` are the bundled files.
 */
async function bundle(spec: string): Promise<{ builtins: string[]; inputs: string[] }> {
  try {
    const result = await build({
      stdin: { contents: `export * from '${spec}';`, resolveDir: __dirname, loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    return { builtins: [], inputs: Object.keys(result.metafile.inputs) };
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (!errors) throw e;
    const builtins = errors.map((m) => {
      const name = /^Could not resolve "([^"]+)"/.exec(m.text)?.[1];
      if (!name || !BUILTIN.has(name)) throw new Error(`esbuild: ${m.text} (${m.location?.file ?? ''})`);
      return `${name} (from ${m.location?.file ?? '?'})`;
    });
    return { builtins: [...new Set(builtins)].sort(), inputs: [] };
  }
}

// [package, whether it has a separate browser entry (the `browser` export condition)]: common and decoding
// need none, their root entries hold no Node code.
const BROWSER_ENTRIES: [string, boolean][] = [
  ['@gptlab/common', false],
  ['@gptlab/tensor', true],
  ['@gptlab/tokenizer', true],
  ['@gptlab/sparse-attention', true],
  ['@gptlab/model', true],
  ['@gptlab/decoding', false],
];

describe.each(BROWSER_ENTRIES)('%s for platform=browser', (spec, hasBrowserEntry) => {
  test('requires no Node built-in, nor tfjs-node or tensor-native', async () => {
    const { builtins, inputs } = await bundle(spec);
    expect(builtins).toEqual([]);
    expect(inputs.filter((f) => /tfjs-node|tensor-native/.test(f))).toEqual([]);
    const dist = `${spec.slice('@gptlab/'.length)}/dist/`;
    expect(inputs.some((f) => f.includes(dist + (hasBrowserEntry ? 'browser.js' : 'index.js')))).toBe(true);
  }, 60000);
});

test.each([
  ['@gptlab/model/node', 'fs'],
  ['@gptlab/sparse-attention/node', 'zlib'],
  ['@gptlab/common/node', 'fs'],
])(
  'the Node-only entry %s does reach node:%s',
  async (spec, builtin) => {
    const { builtins } = await bundle(spec);
    expect(builtins.some((b) => b.startsWith(`${builtin} `) || b.startsWith(`node:${builtin} `))).toBe(true);
  },
  60000,
);
