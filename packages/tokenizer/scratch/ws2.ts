import { getEncoding } from 'js-tiktoken';
import { get_encoding } from 'tiktoken';
const jt = getEncoding('gpt2'); const tk = get_encoding('gpt2');
const dec = (ids: number[]) => ids.map(i => JSON.stringify(new TextDecoder().decode(tk.decode_single_token_bytes(i))));
for (const s of [' \u0085x', 'a \u0085\u0085 x', '\ufeff\ufeff x', 'x \ufeff']) {
  const a = jt.encode(s, [], []), b = Array.from(tk.encode_ordinary(s));
  console.log(JSON.stringify(s), dec(a).join('|'), '   ', dec(b).join('|'));
}
