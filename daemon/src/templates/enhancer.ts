import { request } from 'undici';
import { z } from 'zod';

export const EnhancerConfig = z.object({
  /** Base URL of an OpenAI-compatible API, e.g. Ollama's http://127.0.0.1:11434/v1 or LM Studio's http://127.0.0.1:1234/v1. */
  url: z.url({ protocol: /^https?$/ }),
  model: z.string().min(1),
  apiKey: z.string().optional(),
  timeoutMs: z.number().int().min(100).default(20_000),
  system: z
    .string()
    .default('Rewrite the user\'s image prompt for a Stable Diffusion model: keep its subject and intent, add concrete visual detail (lighting, composition, style). Answer with the prompt only, one paragraph, no quotes.'),
});
export type EnhancerConfig = z.infer<typeof EnhancerConfig>;

const Reply = z.object({ choices: z.array(z.object({ message: z.object({ content: z.string() }) })).min(1) });

/** Asks the chat model for a better prompt; throws with a reason a person can act on. */
export async function enhancePrompt(cfg: EnhancerConfig, prompt: string): Promise<string> {
  const res = await request(new URL('chat/completions', cfg.url.endsWith('/') ? cfg.url : `${cfg.url}/`), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {}) },
    body: JSON.stringify({ model: cfg.model, temperature: 0.7, messages: [{ role: 'system', content: cfg.system }, { role: 'user', content: prompt }] }),
    headersTimeout: cfg.timeoutMs,
    bodyTimeout: cfg.timeoutMs,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`enhancer answered ${res.statusCode}: ${text.slice(0, 200)}`);
  const parsed = Reply.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error('enhancer reply has no choices[0].message.content');
  const out = parsed.data.choices[0]!.message.content.trim().replace(/^"|"$/g, '');
  if (!out) throw new Error('enhancer returned an empty prompt');
  return out.slice(0, 32_768);
}
