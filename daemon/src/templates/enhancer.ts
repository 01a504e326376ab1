import { type Dispatcher, request } from 'undici';
import { z } from 'zod';

export const EnhancerConfig = z.object({
  /** Base URL of an OpenAI-compatible API, e.g. Ollama's http://127.0.0.1:11434/v1 or LM Studio's http://127.0.0.1:1234/v1. */
  url: z.url({ protocol: /^https?$/ }),
  model: z.string().min(1),
  apiKey: z.string().optional(),
  timeoutMs: z.number().int().min(100).default(20_000),
  system: z
    .string()
    .default(
      "Rewrite the user's image prompt for a Stable Diffusion model: keep its subject and intent, add concrete visual detail (lighting, composition, style). Answer with the prompt only, one paragraph, no quotes.",
    ),
});
export type EnhancerConfig = z.infer<typeof EnhancerConfig>;

const Reply = z.object({ choices: z.array(z.object({ message: z.object({ content: z.string() }) })).min(1) });

/** The most of a reply that is read: a prompt is short, and a server sending more is not answering the question. */
export const MAX_REPLY_BYTES = 64 * 1024;

async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new Error(`enhancer reply is over ${max / 1024} KB`); // leaving the loop destroys the body
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Asks the chat model for a better prompt; throws with a reason a person can act on. */
export async function enhancePrompt(cfg: EnhancerConfig, prompt: string): Promise<string> {
  // One deadline for the whole exchange (connect, headers, body): a server trickling bytes cannot stretch it.
  const deadline = AbortSignal.timeout(cfg.timeoutMs);
  let status: number;
  let text: string;
  try {
    const res = await request(new URL('chat/completions', cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {}) },
      body: JSON.stringify({
        model: cfg.model,
        temperature: 0.7,
        messages: [
          { role: 'system', content: cfg.system },
          { role: 'user', content: prompt },
        ],
      }),
      signal: deadline,
    });
    status = res.statusCode;
    text = await readCapped(res.body, MAX_REPLY_BYTES);
  } catch (err) {
    if (deadline.aborted) throw new Error(`enhancer gave no full answer within ${cfg.timeoutMs} ms`, { cause: err });
    throw err;
  }
  if (status !== 200) throw new Error(`enhancer answered ${status}: ${text.slice(0, 200)}`);
  const parsed = Reply.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error('enhancer reply has no choices[0].message.content');
  const out = parsed.data.choices[0]!.message.content.trim().replace(/^"|"$/g, '');
  if (!out) throw new Error('enhancer returned an empty prompt');
  return out.slice(0, 32_768);
}

/** Prompts already sent to the model within one request (a batch), with the answer or failure each got. */
export type EnhanceMemo = Map<string, Promise<string>>;

/** `enhancePrompt` once per distinct prompt of a request: the jobs of a batch share one rewrite (or one fallback). */
export function enhanceOnce(cfg: EnhancerConfig, memo: EnhanceMemo, prompt: string): Promise<string> {
  let answer = memo.get(prompt);
  if (!answer) memo.set(prompt, (answer = enhancePrompt(cfg, prompt)));
  return answer;
}
