// Chat templates: Hugging Face's `chat_template` (Jinja, saved in tokenizer_config.json), rendered with
// @huggingface/jinja — the engine transformers.js uses — with the variables transformers' apply_chat_template
// passes (messages, add_generation_prompt, bos_token, eos_token), so the trainer, the playground's /v1/chat
// endpoint, transformers and transformers.js all build the same prompt from the same checkpoint.
//
// The default template separates turns with the tokenizer's own `<|endoftext|>` (eos_token) instead of adding
// ChatML's <|im_start|>/<|im_end|>: a pretrained gptlab model already treats <|endoftext|> as a boundary, the
// vocabulary and embeddings stay as they are (no new rows to learn from scratch during a short SFT), and
// generation stops at the eos token every decoder already knows. A turn is "role:\ncontent<|endoftext|>".
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from '@huggingface/jinja';
import type { ChatMessage } from './chat';

export const DEFAULT_CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'] + ':\\n' + message['content'] + eos_token }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ 'assistant:\\n' }}{% endif %}";

/** GPT-2's eos token, the default template's turn separator. */
export const DEFAULT_EOS_TOKEN = '<|endoftext|>';

export interface ChatTemplateSpec {
  source: string;
  bosToken?: string;
  eosToken?: string;
}

/** A compiled template; a template that does not parse is an error that says so. */
export class ChatTemplate {
  private readonly template: Template;
  readonly bosToken: string;
  readonly eosToken: string;

  constructor(readonly spec: ChatTemplateSpec) {
    try {
      this.template = new Template(spec.source);
    } catch (e) {
      throw new Error(`chat template does not parse: ${(e as Error).message}`);
    }
    this.bosToken = spec.bosToken ?? '';
    this.eosToken = spec.eosToken ?? DEFAULT_EOS_TOKEN;
  }

  static default(): ChatTemplate {
    return new ChatTemplate({ source: DEFAULT_CHAT_TEMPLATE, eosToken: DEFAULT_EOS_TOKEN });
  }

  /** The text of `messages`; with `addGenerationPrompt` it ends where the assistant's reply begins. */
  render(messages: readonly ChatMessage[], addGenerationPrompt = false): string {
    try {
      return this.template.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: addGenerationPrompt,
        bos_token: this.bosToken,
        eos_token: this.eosToken,
      });
    } catch (e) {
      // Templates raise errors themselves (raise_exception) for message orders they do not support.
      throw new Error(`chat template failed to render: ${(e as Error).message}`);
    }
  }

  /**
   * The conversation as consecutive text pieces, each marked whether it is assistant text to learn. Like TRL's
   * assistant-only loss, but template-agnostic: an assistant turn's piece is what rendering the conversation up
   * to and including it adds to the rendering up to it with the generation prompt. A template whose renderings
   * are not prefixes of each other cannot be split this way and is an error.
   */
  segments(messages: readonly ChatMessage[]): { text: string; train: boolean }[] {
    const out: { text: string; train: boolean }[] = [];
    let done = '';
    for (let i = 0; i < messages.length; i++) {
      if (messages[i]!.role !== 'assistant') continue;
      const prompt = this.render(messages.slice(0, i), true);
      const full = this.render(messages.slice(0, i + 1), false);
      if (!prompt.startsWith(done) || !full.startsWith(prompt))
        throw new Error(`chat template renders turn ${i} inconsistently (earlier text is not a prefix), cannot mask the prompt`);
      if (prompt.length > done.length) out.push({ text: prompt.slice(done.length), train: false });
      out.push({ text: full.slice(prompt.length), train: true });
      done = full;
    }
    const rest = this.render(messages, false);
    if (!rest.startsWith(done)) throw new Error('chat template renders the conversation inconsistently, cannot mask the prompt');
    if (rest.length > done.length) out.push({ text: rest.slice(done.length), train: false });
    return out;
  }
}

/** The chat template saved with checkpoint `dir` (tokenizer_config.json chat_template), or the default. */
export function checkpointTemplate(dir: string): ChatTemplate {
  const file = path.join(dir, 'tokenizer_config.json');
  const cfg = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { chat_template?: unknown }) : {};
  const source = typeof cfg.chat_template === 'string' ? cfg.chat_template : DEFAULT_CHAT_TEMPLATE;
  return new ChatTemplate({ source });
}
