// Chat templates from tokenizer_config.json and their rendering with @huggingface/jinja.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadChatTemplate, renderChat } from '../src/v1/chat-template';
import { HttpError } from '../src/types';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-template-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
const writeConfig = (cfg: unknown) =>
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), typeof cfg === 'string' ? cfg : JSON.stringify(cfg));

test('no tokenizer_config.json or no chat_template: null', () => {
  expect(loadChatTemplate(dir)).toBeNull();
  writeConfig({ eos_token: '</s>' });
  expect(loadChatTemplate(dir)).toBeNull();
});

test('special tokens as strings or AddedToken objects; the "default" of a template list', () => {
  writeConfig({
    chat_template: [
      { name: 'tool_use', template: 'tools' },
      { name: 'default', template: '{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}{{ eos_token }}' },
    ],
    bos_token: { content: '<s>', lstrip: false },
    eos_token: '</s>',
  });
  const t = loadChatTemplate(dir)!;
  expect(t).toMatchObject({ bosToken: '<s>', eosToken: '</s>' });
  expect(renderChat('m', t, [{ role: 'user', content: 'hi' }])).toBe('<s>[user] hi</s>');
});

test('add_generation_prompt is set', () => {
  writeConfig({ chat_template: '{% if add_generation_prompt %}GO{% endif %}' });
  expect(renderChat('m', loadChatTemplate(dir), [{ role: 'user', content: 'x' }])).toBe('GO');
});

test('a broken tokenizer_config.json names the file', () => {
  writeConfig('{"chat_template": ');
  expect(() => loadChatTemplate(dir)).toThrow(/tokenizer_config\.json: not valid JSON/);
  writeConfig({ chat_template: 42 });
  expect(() => loadChatTemplate(dir)).toThrow(/chat_template must be a string/);
});

test('no template, or a template that raises, is a 400 naming the reason', () => {
  const noTemplate = (() => {
    try {
      renderChat('tiny', null, [{ role: 'user', content: 'x' }]);
    } catch (e) {
      return e;
    }
  })() as HttpError;
  expect(noTemplate).toBeInstanceOf(HttpError);
  expect(noTemplate.statusCode).toBe(400);
  expect(noTemplate.message).toMatch(/'tiny' has no chat template/);
  writeConfig({ chat_template: "{% if messages[0].role != 'user' %}{{ raise_exception('user first') }}{% endif %}ok" });
  expect(() => renderChat('m', loadChatTemplate(dir), [{ role: 'assistant', content: 'x' }])).toThrow(
    /failed on these messages: .*user first/,
  );
});
