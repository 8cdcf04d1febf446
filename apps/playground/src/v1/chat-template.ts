// Chat prompts: `messages` rendered with the checkpoint's Hugging Face chat template (tokenizer_config.json
// `chat_template`, Jinja) by @huggingface/jinja, the same engine transformers.js uses, with
// add_generation_prompt so the text ends where the assistant's reply begins.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from '@huggingface/jinja';
import { HttpError, type ChatTemplate } from '../types';

/** A special token in tokenizer_config.json: a string or an AddedToken object {"content": ...}. */
function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  return undefined;
}

/**
 * The chat template of checkpoint `dir`, or null when tokenizer_config.json is absent or has no chat_template.
 * A list of named templates (transformers' multi-template form) uses the one named "default".
 */
export function loadChatTemplate(dir: string): ChatTemplate | null {
  const file = path.join(dir, 'tokenizer_config.json');
  if (!fs.existsSync(file)) return null;
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  let source = cfg.chat_template;
  if (Array.isArray(source)) {
    source = (source as { name?: unknown; template?: unknown }[]).find((t) => t?.name === 'default')?.template;
  }
  if (source === undefined || source === null) return null;
  if (typeof source !== 'string') throw new Error(`${file}: chat_template must be a string or a list of {name, template}`);
  return { source, bosToken: tokenString(cfg.bos_token), eosToken: tokenString(cfg.eos_token) };
}

export interface ChatMessage {
  role: string;
  content: string;
  name?: string;
}

// Compiling a template parses it; models are long-lived, so each source is compiled once.
const compiled = new WeakMap<ChatTemplate, Template>();

/** The prompt text for `messages`; 400 when the model has no template or the template rejects the messages. */
export function renderChat(modelName: string, template: ChatTemplate | null | undefined, messages: ChatMessage[]): string {
  if (!template) {
    throw new HttpError(
      400,
      `model '${modelName}' has no chat template (tokenizer_config.json chat_template): use /v1/completions with a plain prompt`,
      { param: 'model' },
    );
  }
  let t = compiled.get(template);
  try {
    if (!t) {
      t = new Template(template.source);
      compiled.set(template, t);
    }
    return t.render({
      messages,
      add_generation_prompt: true,
      bos_token: template.bosToken ?? '',
      eos_token: template.eosToken ?? '',
    });
  } catch (e) {
    // Templates raise errors themselves (raise_exception) for message orders they do not support.
    throw new HttpError(400, `the chat template of '${modelName}' failed on these messages: ${(e as Error).message}`, {
      param: 'messages',
    });
  }
}
