// The image input of vision checkpoints (gptlab-train vision): under the prompt, a canvas at the size the model
// reads (shown enlarged) to draw on with the mouse, or to fill from an uploaded picture (scaled, converted to
// gray); the image goes with the prompt as {"image": {"height", "width", "pixels"}} and the attention view shows
// its visual tokens as <img 0>, <img 1>, … before the text. Text models hide it.
import { $, el } from './dom.js';
import { state } from './state.js';

const ZOOM = 8;
let panel = null;

/** Shows the image input for a vision model's card (config.vision = {height, width, visualTokens}), hides it otherwise. */
export function showImageInput(card) {
  panel?.remove();
  panel = null;
  const v = card?.config?.vision;
  if (!v) return;
  const canvas = el('canvas', { id: 'image-canvas', width: String(v.width), height: String(v.height) });
  canvas.style.width = `${v.width * ZOOM}px`;
  canvas.style.height = `${v.height * ZOOM}px`;
  canvas.style.imageRendering = 'pixelated';
  canvas.style.border = '1px solid #ccd';
  canvas.style.cursor = 'crosshair';
  const g = canvas.getContext('2d');
  const clear = () => {
    g.fillStyle = '#fff';
    g.fillRect(0, 0, v.width, v.height);
  };
  clear();
  let drawing = false;
  const paint = (ev) => {
    const r = canvas.getBoundingClientRect();
    g.fillStyle = '#000';
    g.fillRect(Math.floor(((ev.clientX - r.left) / r.width) * v.width), Math.floor(((ev.clientY - r.top) / r.height) * v.height), 1, 1);
  };
  canvas.addEventListener('mousedown', (ev) => {
    drawing = true;
    paint(ev);
  });
  canvas.addEventListener('mousemove', (ev) => drawing && paint(ev));
  window.addEventListener('mouseup', () => (drawing = false));
  const file = el('input', { type: 'file', accept: 'image/*', id: 'image-file' });
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    const bitmap = await createImageBitmap(f);
    clear();
    g.drawImage(bitmap, 0, 0, v.width, v.height);
  });
  const use = el('input', { type: 'checkbox', id: 'image-use', checked: '' });
  panel = el(
    'div',
    { id: 'image-input', class: 'image-input' },
    el('div', {
      class: 'muted',
      text: `image ${v.height}×${v.width} (${v.visualTokens} visual tokens before the prompt): draw, or upload`,
    }),
    canvas,
    el(
      'div',
      {},
      el('label', { class: 'inline' }, use, ' send the image'),
      ' ',
      el('button', { type: 'button', text: 'clear', onclick: clear }),
      ' ',
      file,
    ),
  );
  $('#prompt').after(panel);
}

/** The request field of the current image: {image: {...}} when a vision model is chosen and the image is on, else {}. */
export function imageField() {
  const canvas = $('#image-canvas');
  if (!panel || !canvas || !state.model?.config?.vision || !$('#image-use').checked) return {};
  const { width, height } = canvas;
  const rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const pixels = [];
  for (let i = 0; i < width * height; i++) {
    // BT.601 luma, alpha over white: what the server's PNG reader computes.
    const a = rgba[4 * i + 3] / 255;
    const luma = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
    pixels.push(Math.round((a * luma + (1 - a)) * 1000) / 1000);
  }
  return { image: { height, width, pixels } };
}
