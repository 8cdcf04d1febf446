// `gptlab-playground generate --image FILE.png`: a vision checkpoint reads the PNG before the prompt and
// decodes as VisionGPT.withImage does; text checkpoints and bad images are usage errors naming the file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generate, gptLanguageModel, type GenerateResult } from '@gptlab/decoding';
import { encodePngGray, saveVisionGPT, type VisionGPT } from '@gptlab/model';
import { initBackend, tf } from '@gptlab/tensor';
import type { BPETokenizer } from '@gptlab/tokenizer';
import { main } from '../src/program';
import { realRegistry } from '../src/real';
import { createServer } from '../src/server';
import { captureIO } from './helpers/io';
import { tinyVision } from './helpers/tiny-vision';

const TEXT_FIXTURE = path.join(__dirname, 'fixtures', 'tiny');
let dir: string;
let model: VisionGPT;
let tok: BPETokenizer;
const pixels = Float32Array.from({ length: 8 * 16 }, (_, i) => ((i * 37) % 11) / 10);

beforeAll(async () => {
  await initBackend();
  ({ model, tok } = tinyVision());
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gptlab-vision-gen-'));
  await saveVisionGPT(model, path.join(dir, 'model'), { tokenizer: tok });
  fs.writeFileSync(path.join(dir, 'word.png'), encodePngGray({ height: 8, width: 16, pixels }));
  fs.writeFileSync(path.join(dir, 'wide.png'), encodePngGray({ height: 8, width: 20, pixels: new Float32Array(160) }));
});
afterAll(() => model.dispose());

async function run(args: string[]) {
  const c = captureIO();
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

/** generate --image word.png --prompt "read:" --max-new-tokens 5 --json, plus `extra`. */
const readWord = (...extra: string[]) =>
  run([
    'generate',
    '--model',
    path.join(dir, 'model'),
    '--image',
    path.join(dir, 'word.png'),
    '--prompt',
    'read:',
    '--max-new-tokens',
    '5',
    '--json',
    ...extra,
  ]);

test('generate --image reads the PNG as visual tokens before the prompt', async () => {
  const r = await readWord('--ignore-eos');
  expect(r.code).toBe(0);
  const json = JSON.parse(r.out.trim());
  // The same image (8-bit levels, as the PNG stores them) through VisionGPT.withImage and @gptlab/decoding.
  const image = tf.tensor3d(
    Float32Array.from(pixels, (p) => Math.round(p * 255) / 255),
    [1, 8, 16],
  );
  const conditioned = model.withImage(image);
  const ref = (await generate(gptLanguageModel(conditioned), tok.encode('read:'), { maxNewTokens: 5 })) as GenerateResult;
  conditioned.dispose();
  image.dispose();
  expect(json.ids).toEqual(ref.ids);
});

test('--image errors: a text checkpoint, a wrong size, a missing file', async () => {
  const png = path.join(dir, 'word.png');
  const text = await run(['generate', '--model', TEXT_FIXTURE, '--image', png, '--prompt', 'a']);
  expect(text.code).toBe(2);
  expect(text.err).toMatch(/--image: tiny reads no images \(its config.json has no vision_config\)/);
  const wide = await run(['generate', '--model', path.join(dir, 'model'), '--image', path.join(dir, 'wide.png'), '--prompt', 'read:']);
  expect(wide.code).toBe(2);
  expect(wide.err).toContain(`${path.join(dir, 'wide.png')}: the image is 8×20 (height×width), the model reads 8×16`);
  const missing = await run(['generate', '--model', path.join(dir, 'model'), '--image', path.join(dir, 'nope.png'), '--prompt', 'read:']);
  expect(missing.code).toBe(2);
  expect(missing.err).toMatch(/nope\.png: cannot read the image/);
});

test('POST /api/generate and /api/attention take the image; the attention rows start with <img i>', async () => {
  const app = await createServer({ registry: realRegistry(dir) });
  try {
    const image = { height: 8, width: 16, pixels: Array.from(pixels, (p) => Math.round(p * 255) / 255) };
    const gen = await app.inject({
      method: 'POST',
      url: '/api/generate',
      payload: { model: 'model', prompt: 'read:', image, max_new_tokens: 5, topAlternatives: 3 },
    });
    expect(gen.statusCode).toBe(200);
    const cli = await readWord();
    expect(gen.json().ids).toEqual(JSON.parse(cli.out.trim()).ids);
    expect(gen.json().alternatives).toBeUndefined();
    const att = await app.inject({
      method: 'POST',
      url: '/api/attention',
      payload: { model: 'model', prompt: 'read:', layer: 0, head: 1, image },
    });
    expect(att.statusCode).toBe(200);
    const a = att.json();
    expect(a.tokens.slice(0, 3)).toEqual(['<img 0>', '<img 1>', '<img 2>']);
    expect(a.ids.length).toBe(model.prefixLength + 5);
    expect(a.probs.length).toBe(model.prefixLength + 5);
    expect(a.promptLength).toBe(model.prefixLength + 5);
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/generate',
      payload: { model: 'model', prompt: 'read:', image: { ...image, width: 4, pixels: [0, 0, 0, 0] } },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error).toMatch(/image.pixels must hold height × width = 32 numbers|image must be 8×16/);
  } finally {
    await app.close();
  }
});
