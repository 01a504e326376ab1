import { Provenance } from '../postprocess.js';

/**
 * Provenance of a generated PNG, read from its text chunks: the `comfygate` JSON chunk the daemon writes, else the
 * `prompt` chunk ComfyUI itself saves (an API graph: the first sampler's seed and its prompts). Pure bytes in, so
 * it runs in Node, VS Code and a browser alike. Null when the file says nothing about how it was made.
 */
export function readPngText(bytes: Uint8Array): Record<string, string> {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 8 || sig.some((b, i) => bytes[i] !== b)) return {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8');
  const out: Record<string, string> = {};
  for (let pos = 8; pos + 12 <= bytes.length;) {
    const len = view.getUint32(pos);
    const type = latin1.decode(bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, Math.min(pos + 8 + len, bytes.length));
    if (type === 'IEND') break;
    const nul = data.indexOf(0);
    if (nul > 0 && type === 'tEXt') out[latin1.decode(data.subarray(0, nul))] = latin1.decode(data.subarray(nul + 1));
    if (nul > 0 && type === 'iTXt' && data[nul + 1] === 0) {
      // iTXt: keyword, 0, compression flag (only uncompressed read here), method, language, 0, translated, 0, text.
      const lang = data.indexOf(0, nul + 3);
      const translated = lang < 0 ? -1 : data.indexOf(0, lang + 1);
      if (translated > 0) out[latin1.decode(data.subarray(0, nul))] = utf8.decode(data.subarray(translated + 1));
    }
    pos += 12 + len;
  }
  return out;
}

type Node = { class_type?: string; inputs?: Record<string, unknown> };

function fromComfyPrompt(text: string): Provenance | null {
  let graph: Record<string, Node>;
  try {
    graph = JSON.parse(text) as Record<string, Node>;
  } catch {
    return null;
  }
  const sampler = Object.values(graph).find((n) => /KSampler/.test(n.class_type ?? '') && n.inputs);
  if (!sampler?.inputs) return null;
  const textOf = (input: string) => {
    const link = sampler.inputs![input];
    const id = Array.isArray(link) ? String(link[0]) : undefined;
    const t = id === undefined ? undefined : graph[id]?.inputs?.text;
    return typeof t === 'string' ? t : undefined;
  };
  const seed = sampler.inputs.seed ?? sampler.inputs.noise_seed;
  const p: Provenance = {};
  const prompt = textOf('positive');
  const negative = textOf('negative');
  if (prompt !== undefined) p.prompt = prompt;
  if (negative !== undefined) p.negative = negative;
  if (typeof seed === 'number' && Number.isSafeInteger(seed)) p.seed = seed;
  return Object.keys(p).length ? p : null;
}

export function provenanceFromPng(bytes: Uint8Array): Provenance | null {
  const text = readPngText(bytes);
  if (text.comfygate) {
    try {
      const { software: _software, ...rest } = JSON.parse(text.comfygate) as Record<string, unknown>;
      const parsed = Provenance.safeParse(rest);
      if (parsed.success) return parsed.data;
    } catch {
      /* a damaged chunk: try ComfyUI's own */
    }
  }
  return text.prompt ? fromComfyPrompt(text.prompt) : null;
}
