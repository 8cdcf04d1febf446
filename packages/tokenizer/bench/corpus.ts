// Corpora for the benchmark: WordNet glosses (shared with the tests), source code, and multilingual text.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '@gptlab/common';
import { PKG_ROOT, requireHere, wordnetGlosses } from '../test/corpora';

export { PKG_ROOT, requireHere, wordnetGlosses };

const MULTILINGUAL = [
  'Le renard brun rapide saute par-dessus le chien paresseux. Où est la bibliothèque ? Ça coûte 12,50 €.',
  'Der schnelle braune Fuchs springt über den faulen Hund. Größere Übungen für Straßenbahnfahrer.',
  'El rápido zorro marrón salta sobre el perro perezoso. ¿Dónde está la estación? ¡Qué día!',
  'Быстрая коричневая лиса прыгает через ленивую собаку. Съешь же ещё этих мягких французских булок.',
  'Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο. Καλημέρα κόσμε!',
  'الثعلب البني السريع يقفز فوق الكلب الكسول. مرحبا بالعالم، كيف حالك اليوم؟',
  'השועל החום המהיר קופץ מעל הכלב העצלן. שלום עולם!',
  'तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है। नमस्ते दुनिया, आप कैसे हैं?',
  'দ্রুত বাদামী শিয়াল অলস কুকুরের উপর দিয়ে লাফ দেয়।',
  'สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ สวัสดีชาวโลก',
  '敏捷的棕色狐狸跳过了懒狗。今天天气很好，我们去公园散步吧。机器学习和自然语言处理。',
  '素早い茶色の狐がのろまな犬を飛び越える。東京は日本の首都です。カタカナとひらがな。',
  '빠른 갈색 여우가 게으른 개를 뛰어넘는다. 안녕하세요 세계! 한국어 텍스트입니다.',
  'Hızlı kahverengi tilki tembel köpeğin üzerinden atlar. Günaydın dünya!',
  'Szybki brązowy lis przeskakuje nad leniwym psem. Zażółć gęślą jaźń.',
  'Tiếng Việt có dấu: Con cáo nâu nhanh nhẹn nhảy qua con chó lười.',
  'Emoji: 👍🏽 👨‍👩‍👧‍👦 🇯🇵🇩🇪 ❤️ 🧑🏿‍🚀 😀😃😄 — math 𝐀𝐁𝐂 ∑∫√ ≤ ≥ ≠',
];

/** Multilingual text: words of the sentences above reshuffled with a seeded PRNG. */
export function multilingualText(targetChars: number, seed = 1): string {
  const r = new Rng(seed);
  const words = MULTILINGUAL.flatMap((s) => s.split(/\s+/));
  const parts: string[] = [];
  let n = 0;
  while (n < targetChars) {
    const len = 5 + Math.floor(r.next() * 20);
    const sent: string[] = [];
    for (let i = 0; i < len; i++) sent.push(words[Math.floor(r.next() * words.length)]);
    if (r.next() < 0.3) sent.push(String(Math.floor(r.next() * 1e9)));
    const s = sent.join(' ') + (r.next() < 0.2 ? '\n\n' : ' ');
    parts.push(s);
    n += s.length;
  }
  return parts.join('');
}

/** Source code: TypeScript's lib .d.ts files when resolvable, else this package's own sources. */
export function codeText(targetChars: number): string {
  const files: string[] = [];
  try {
    const lib = path.join(path.dirname(requireHere.resolve('typescript/package.json')), 'lib');
    for (const f of fs.readdirSync(lib).sort()) if (/^lib\..*\.d\.ts$/.test(f)) files.push(path.join(lib, f));
  } catch {
    /* fall through */
  }
  const src = path.join(PKG_ROOT, 'src');
  for (const f of fs.readdirSync(src).sort()) if (f.endsWith('.ts')) files.push(path.join(src, f));
  const parts: string[] = [];
  let n = 0;
  for (const f of files) {
    if (n >= targetChars) break;
    const t = fs.readFileSync(f, 'utf8');
    parts.push(t);
    n += t.length;
  }
  return parts.join('\n').slice(0, targetChars);
}

/** ≥ minBytes of UTF-8: ~60% WordNet glosses, ~25% code, ~15% multilingual, interleaved in 4 KB blocks. */
export function mixedText(minBytes = 2_500_000): string {
  const gl = wordnetGlosses();
  const english = gl.join('\n');
  const code = codeText(Math.ceil(minBytes * 0.25));
  const multi = multilingualText(Math.ceil(minBytes * 0.06)); // multi-byte scripts: ~2.5 bytes per char
  const sources = [english, code, multi];
  const weights = [0.6, 0.25, 0.15];
  const pos = [0, 0, 0];
  const r = new Rng(7);
  const parts: string[] = [];
  let bytes = 0;
  while (bytes < minBytes) {
    const x = r.next();
    const k = x < weights[0] ? 0 : x < weights[0] + weights[1] ? 1 : 2;
    const src = sources[k];
    if (pos[k] >= src.length) pos[k] = 0;
    let end = Math.min(src.length, pos[k] + 4096);
    const c = src.charCodeAt(end - 1);
    if (c >= 0xd800 && c <= 0xdbff) end++; // never cut a surrogate pair
    const chunk = src.slice(pos[k], end);
    pos[k] = end;
    parts.push(chunk);
    bytes += Buffer.byteLength(chunk);
  }
  return parts.join('');
}
