// gptlab-playground chat: a conversation with a chat checkpoint in the terminal. Every turn renders the whole
// conversation (system prompt, earlier turns, the new message) with the checkpoint's chat template through the
// same renderChat as POST /v1/chat/completions, so the model sees exactly the prompt the API builds for the same
// messages; the reply (what /v1 returns as the message content) joins the history. /reset, /system and /history
// act on the conversation; the repl's /strategy, /set, /max, /seed, /stop and /show change the decoding.
import { UsageError, type Command } from '@gptlab/common/node';
import {
  strategyField,
  strategyFlagSpecs,
  strategyFromFlags,
  strategyFromJSON,
  strategyInputFromFlags,
  type Strategy,
} from '@gptlab/decoding';
import { isAbortError } from '../queue';
import { DEFAULT_LIMITS, checkAgainstModel, generationDefaults } from '../requests';
import type { GenerateHooks, GenerateResult, LoadedModel } from '../types';
import { renderChat, type ChatMessage } from '../v1/chat-template';
import { lineSession } from './line-session';
import { replLine, type ReplState } from './repl';
import { MODEL_FLAGS, checkpointDir, resultLine, writeBackendLine, type CliIO, type CheckpointLoader } from './shared';

export const CHAT_HELP = `Type a message and press Enter (end a line with \\ to continue it); the model answers with the whole
conversation as context, rendered with the checkpoint's chat template.
Conversation:
  /system TEXT     set the system prompt (kept by /reset)     /system     remove it
  /reset           start a new conversation                     /history    print the messages so far
Decoding (as in the repl; default greedy, replies until the end-of-text token or the context is full):
  /strategy greedy | beam [N] [alpha] | sample [T] [topP] | top-k K | top-p P | min-p P | typical P
  /set NAME VALUE     /max N     /seed S     /stop a,b     /show
  /help     /quit
`;

/** A conversation with one model: the system prompt, the turns so far and the decoding settings. */
export class ChatSession {
  /** The system prompt, sent as the first message (null: none). */
  system: string | null;
  /** User and assistant messages, in order. */
  turns: ChatMessage[] = [];
  readonly decoding: ReplState;

  constructor(
    private readonly model: LoadedModel,
    /** The model's name in error messages (as /v1 names it). */
    readonly modelName: string,
    opts: { system?: string; decoding?: Record<string, unknown> } = {},
  ) {
    this.system = opts.system ?? null;
    this.decoding = { input: opts.decoding ?? {} };
  }

  /** The messages a request sends: the system prompt (when set), the turns so far, then `next` as the user's. */
  messages(next?: string): ChatMessage[] {
    const out: ChatMessage[] = this.system ? [{ role: 'system', content: this.system }] : [];
    out.push(...this.turns);
    if (next !== undefined) out.push({ role: 'user', content: next });
    return out;
  }

  /**
   * The prompt the model reads for `next`: the conversation rendered by the template (with the generation prompt)
   * and encoded with its special tokens as ids, as /v1/chat/completions does.
   */
  promptIds(next: string): number[] {
    const text = renderChat(this.modelName, this.model.chatTemplate, this.messages(next));
    return this.model.encodeChat ? this.model.encodeChat(text) : this.model.encode(text);
  }

  /**
   * The decoding strategy for a prompt of `promptLength` tokens. Without a max length the reply may run until the
   * context is full (at most the server's 512 tokens), as /v1/chat/completions does without max_tokens.
   */
  strategy(promptLength: number): Strategy {
    const input = { ...this.decoding.input };
    if (!Object.keys(input).some((k) => strategyField(k)?.name === 'maxNewTokens')) {
      input.maxNewTokens = Math.max(1, Math.min(DEFAULT_LIMITS.maxNewTokens, this.model.contextLength - promptLength));
    }
    return strategyFromJSON(input, { vocabSize: this.model.vocabSize, defaults: generationDefaults(this.model) });
  }

  /**
   * Sends `text` as the user's next message and returns the model's reply, which joins the history with it. A
   * failed or stopped generation leaves the history as it was.
   */
  async send(text: string, hooks: GenerateHooks = {}): Promise<GenerateResult & { promptIds: number[] }> {
    const promptIds = this.promptIds(text);
    const strategy = this.strategy(promptIds.length);
    if (promptIds.length + strategy.maxNewTokens > this.model.contextLength) {
      throw new Error(
        `the conversation (${promptIds.length} tokens) + ${strategy.maxNewTokens} new tokens exceed the model's context of ` +
          `${this.model.contextLength} tokens: /reset starts a new conversation (or /max N shortens the reply)`,
      );
    }
    checkAgainstModel(promptIds, strategy.maxNewTokens, this.model, 'message');
    const reply = await this.model.generate({ promptIds, strategy }, hooks);
    this.turns.push({ role: 'user', content: text }, { role: 'assistant', content: reply.text });
    return { ...reply, promptIds };
  }

  /** Applies one `/command`; returns the text to print, or 'quit'. Throws (a UsageError) on bad input. */
  command(line: string): string {
    const m = /^\/(\S*)\s*([\s\S]*)$/.exec(line.trim());
    const [cmd, rest] = [m?.[1] ?? '', m?.[2] ?? ''];
    switch (cmd) {
      case 'reset':
        this.turns = [];
        return this.system ? `new conversation (system prompt kept: ${JSON.stringify(this.system)})` : 'new conversation';
      case 'system':
        this.system = rest.trim() || null;
        return this.system ? `system prompt: ${JSON.stringify(this.system)}` : 'no system prompt';
      case 'history': {
        const msgs = this.messages();
        return msgs.length ? msgs.map((x) => `${x.role}: ${JSON.stringify(x.content)}`).join('\n') : '(no messages yet)';
      }
      case 'help':
        return CHAT_HELP;
      default:
        return replLine(line, this.decoding);
    }
  }
}

export function chatCommand(io: CliIO, load: CheckpointLoader): Command {
  return {
    name: 'chat',
    summary: 'talk to a chat checkpoint: multi-turn, rendered with its chat template like /v1/chat/completions',
    usage: 'chat --model DIR [--system TEXT] [decoding flags]',
    details: CHAT_HELP,
    flags: {
      ...MODEL_FLAGS,
      system: { type: 'string', metavar: 'TEXT', help: 'the system prompt (the first message of the conversation)' },
      ...strategyFlagSpecs(),
    },
    async run({ flags }) {
      const dir = checkpointDir('--model', flags.model as string);
      strategyFromFlags(flags); // usage errors before the model loads
      const model = await load(dir, { ignoreEos: flags['ignore-eos'] === true });
      try {
        if (!model.chatTemplate)
          throw new UsageError(`--model: ${dir} has no chat template (tokenizer_config.json chat_template); use repl for plain prompts`);
        const chat = new ChatSession(model, model.card.name, {
          system: flags.system as string | undefined,
          decoding: strategyInputFromFlags(flags) as Record<string, unknown>,
        });
        await writeBackendLine(io);
        io.stdout.write(`${model.card.name}: chat, context ${model.contextLength} tokens. /help for commands.\n`);
        await lineSession(io, async (text, signal) => {
          try {
            if (text.startsWith('/')) {
              const msg = chat.command(text);
              if (msg === 'quit') return false;
              io.stdout.write(msg.endsWith('\n') ? msg : msg + '\n');
            } else {
              const reply = await chat.send(text, { signal, onToken: (ev) => io.stdout.write(ev.text) });
              io.stdout.write('\n');
              io.stderr.write(resultLine(reply) + '\n');
            }
          } catch (e) {
            io.stdout.write(isAbortError(e) ? '\n[stopped: the message was not kept]\n' : `error: ${(e as Error).message}\n`);
          }
          return true;
        });
      } finally {
        model.dispose?.();
      }
      return 0;
    },
  };
}
