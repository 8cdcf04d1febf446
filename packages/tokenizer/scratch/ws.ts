import { getEncoding } from 'js-tiktoken';
import { get_encoding } from 'tiktoken';
import { encode as gt } from 'gpt-tokenizer/encoding/r50k_base';
const jt = getEncoding('gpt2'); const tk = get_encoding('gpt2');
for (const s of ['a\u0085 b', 'a \ufeffb', 'x\u00a0 y', 'a\u2028\u2028b', 'a\u1680b', 'x\u180ey', 'a\u200bb', 'a\x1c\x1cb', "He'S", 'x\ud800y']) {
  const a = jt.encode(s, [], []), b = Array.from(tk.encode_ordinary(s)), c = gt(s);
  console.log(JSON.stringify(s), JSON.stringify(a), JSON.stringify(b), JSON.stringify(c), JSON.stringify(a) === JSON.stringify(b));
}
