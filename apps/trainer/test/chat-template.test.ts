import * as path from 'node:path';
import * as fs from 'node:fs';
import { ChatTemplate, DEFAULT_CHAT_TEMPLATE } from '../src/align/template';
import { parseChatJsonl, readChatFile, type ChatMessage } from '../src/align/chat';

const FIX = path.join(__dirname, 'fixtures', 'align');

interface TemplateSpec {
  source: string;
  bos_token: string;
  eos_token: string;
}
const spec = JSON.parse(fs.readFileSync(path.join(FIX, 'chat-templates.json'), 'utf8')) as {
  templates: Record<string, TemplateSpec>;
  conversations: ChatMessage[][];
};
// Rendered by make_chat_fixture.py with jinja2 exactly as transformers' apply_chat_template does.
const rendered = JSON.parse(fs.readFileSync(path.join(FIX, 'chat-rendered.json'), 'utf8')) as {
  template: string;
  conversation: number;
  add_generation_prompt: boolean;
  text?: string;
  error?: string;
}[];

describe('chat template', () => {
  it('the default template is the one the fixture was rendered from', () => {
    expect(spec.templates.default!.source).toBe(DEFAULT_CHAT_TEMPLATE);
  });

  it.each(rendered.map((r) => [`${r.template} #${r.conversation} gen=${r.add_generation_prompt}`, r] as const))(
    'renders %s as HF apply_chat_template does',
    (_name, r) => {
      const t = spec.templates[r.template]!;
      const tpl = new ChatTemplate({ source: t.source, bosToken: t.bos_token, eosToken: t.eos_token });
      const render = (): string => tpl.render(spec.conversations[r.conversation]!, r.add_generation_prompt);
      if (r.error !== undefined) expect(render).toThrow(`chat template failed to render: ${r.error}`);
      else expect(render()).toBe(r.text);
    },
  );

  it('a template that does not parse is a clear error', () => {
    expect(() => new ChatTemplate({ source: '{% for m in messages %}{{ m.content }}' })).toThrow(/^chat template does not parse/);
  });

  it('segments mark exactly the assistant replies (and their eos) as trainable', () => {
    const conv = spec.conversations[1]!;
    const segs = ChatTemplate.default().segments(conv);
    expect(segs.map((s) => s.text).join('')).toBe(ChatTemplate.default().render(conv));
    expect(segs.filter((s) => s.train).map((s) => s.text)).toEqual(['automobile<|endoftext|>', 'large<|endoftext|>']);
    expect(segs[0]).toEqual({
      text: 'system:\nAnswer in one word.<|endoftext|>user:\nGive a synonym of "car".<|endoftext|>assistant:\n',
      train: false,
    });
  });

  it('segments refuse a template whose renderings are not prefixes of each other', () => {
    const reversed = new ChatTemplate({ source: '{% for m in messages|reverse %}{{ m.content }};{% endfor %}' });
    expect(() => reversed.segments(spec.conversations[1]!)).toThrow(/inconsistently/);
  });
});

describe('chat data', () => {
  it('reads chat and Alpaca records into conversations', () => {
    const convs = readChatFile(path.join(FIX, 'chat-mixed.jsonl'));
    expect(convs.map((c) => c.messages)).toEqual([
      [
        { role: 'system', content: 'Answer in one word.' },
        { role: 'user', content: 'Synonym of car?' },
        { role: 'assistant', content: 'automobile' },
      ],
      [
        { role: 'user', content: 'Define the word.\n\ndog' },
        { role: 'assistant', content: 'a member of the genus Canis' },
      ],
      [
        { role: 'user', content: 'Say hello.' },
        { role: 'assistant', content: 'hello' },
      ],
    ]);
    expect(convs[2]!.origin).toBe(`${path.join(FIX, 'chat-mixed.jsonl')}:3`);
  });

  it('an unknown role names file:line and the field', () => {
    const file = path.join(FIX, 'chat-bad-role.jsonl');
    expect(() => readChatFile(file)).toThrow(`${file}:2: field "messages"[1]: unknown role "bot"`);
  });

  it('a chat without an assistant turn names file:line', () => {
    const file = path.join(FIX, 'chat-no-assistant.jsonl');
    expect(() => readChatFile(file)).toThrow(`${file}:3: field "messages": no assistant turn`);
  });

  it('missing or mistyped fields name the field', () => {
    expect(() => parseChatJsonl('{"instruction":"x"}', 'd.jsonl')).toThrow('d.jsonl:1: missing field "output"');
    expect(() => parseChatJsonl('{"instruction":"x","input":3,"output":"y"}', 'd.jsonl')).toThrow(
      'd.jsonl:1: field "input" must be a string',
    );
    expect(() => parseChatJsonl('{"messages":[{"role":"user","content":1}]}', 'd.jsonl')).toThrow(
      'd.jsonl:1: field "messages"[0]: "content" must be a string',
    );
    expect(() => parseChatJsonl('{"text":"x"}', 'd.jsonl')).toThrow(/d\.jsonl:1: expected a chat record/);
    expect(() => parseChatJsonl('{"messages":[]}', 'd.jsonl')).toThrow('d.jsonl:1: field "messages" is empty');
  });
});
