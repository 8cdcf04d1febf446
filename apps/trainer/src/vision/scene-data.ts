// Scene data: two or three shapes (circle, square, triangle, cross) in black or gray, left to right in three
// slots of the image at jittered positions and sizes, with questions about them ("what is left of the circle?",
// "what colour is the cross?", "how many shapes?") and a caption-like listing ("which shapes?" → "circle
// cross"). The split is by scene: a held-out arrangement of shapes and colours never appears in training.
import { Rng } from '@gptlab/common';
import { GrayCanvas } from './canvas';
import { drawStyle, splitHash, type ImageSize, type VisionExample } from './examples';

export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export type Shape = (typeof SHAPES)[number];
/** "Colours" as gray levels the encoder sees. */
export const COLOURS = { black: 0.05, gray: 0.5 } as const;
export type Colour = keyof typeof COLOURS;

export interface SceneItem {
  shape: Shape;
  colour: Colour;
}
/** Three slots, left to right; null = empty. */
export type Scene = (SceneItem | null)[];

const SLOTS = 3;
const HELD_OUT = 0.15;
const NUMBERS = ['zero', 'one', 'two', 'three'];

/** The scene's identity for the split: what is where, not the jitter. */
export function sceneKey(scene: Scene): string {
  return scene.map((it) => (it ? `${it.colour} ${it.shape}` : '-')).join('|');
}

export const isHeldOutScene = (scene: Scene, seed: number): boolean => splitHash(sceneKey(scene), seed) < HELD_OUT;

/** A random scene of the requested split (distinct shapes, 2 or 3 of them). */
export function randomScene(rng: Rng, heldOut: boolean, seed: number): Scene {
  for (;;) {
    const count = 2 + rng.int(2);
    const shapes = rng.shuffle([...SHAPES]).slice(0, count);
    const empty = count === SLOTS ? -1 : rng.int(SLOTS);
    let k = 0;
    const scene: Scene = Array.from({ length: SLOTS }, (_, i) =>
      i === empty ? null : { shape: shapes[k++]!, colour: rng.next() < 0.5 ? 'black' : 'gray' },
    );
    if (isHeldOutScene(scene, seed) === heldOut) return scene;
  }
}

function drawShape(canvas: GrayCanvas, shape: Shape, x: number, y: number, s: number, level: number): void {
  if (shape === 'square') return canvas.fillRect(x, y, s, s, level);
  if (shape === 'cross') {
    const t = Math.max(2, Math.round(s / 3));
    const o = Math.floor((s - t) / 2);
    canvas.fillRect(x + o, y, t, s, level);
    return canvas.fillRect(x, y + o, s, t, level);
  }
  for (let r = 0; r < s; r++) {
    for (let c = 0; c < s; c++) {
      const inside =
        shape === 'circle'
          ? (c + 0.5 - s / 2) ** 2 + (r + 0.5 - s / 2) ** 2 <= (s / 2) ** 2
          : Math.abs(c + 0.5 - s / 2) <= ((r + 1) / s) * (s / 2); // triangle, apex up
      if (inside) canvas.set(x + c, y + r, level);
    }
  }
}

/** The scene drawn: each shape 8–12 pixels (at most the image height) at a jittered place inside its slot. */
export function renderScene(scene: Scene, size: ImageSize, rng: Rng): Float32Array {
  const style = drawStyle(rng);
  const canvas = new GrayCanvas(size.height, size.width, style.paper);
  const slotWidth = Math.floor(size.width / SLOTS);
  scene.forEach((it, i) => {
    if (!it) return;
    const s = Math.min(8 + rng.int(5), size.height, slotWidth);
    drawShape(canvas, it.shape, i * slotWidth + rng.int(slotWidth - s + 1), rng.int(size.height - s + 1), s, COLOURS[it.colour]);
  });
  canvas.addNoise(rng, style.noise);
  return canvas.pixels;
}

/** Every question the scene answers, with its answer. */
export function sceneQuestions(scene: Scene): { prompt: string; answer: string }[] {
  const items = scene.filter((it): it is SceneItem => it !== null);
  const out = [
    { prompt: 'how many shapes?', answer: NUMBERS[items.length]! },
    { prompt: 'which shapes?', answer: items.map((it) => it.shape).join(' ') },
  ];
  items.forEach((it, i) => {
    out.push({ prompt: `what colour is the ${it.shape}?`, answer: it.colour });
    if (i > 0) out.push({ prompt: `what is left of the ${it.shape}?`, answer: items[i - 1]!.shape });
    if (i + 1 < items.length) out.push({ prompt: `what is right of the ${it.shape}?`, answer: items[i + 1]!.shape });
  });
  return out;
}

/** A random scene of the split with one of its questions. */
export function sceneExample(size: ImageSize, rng: Rng, heldOut: boolean, seed: number): VisionExample {
  const scene = randomScene(rng, heldOut, seed);
  const questions = sceneQuestions(scene);
  const q = questions[rng.int(questions.length)]!;
  return { task: 'vqa', pixels: renderScene(scene, size, rng), ...q };
}
