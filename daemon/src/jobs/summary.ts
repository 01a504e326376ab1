import { JOB_SUMMARY_LIMITS as L, type Job, type JobSummary, type Output, type TextPreview } from '@comfygate/shared';

/** A JSON value cut to a character budget; `cut` records that anything was shortened or dropped. */
interface Clip {
  budget: number;
  cut: boolean;
}

/** What a string costs in the output: its JSON form (quotes, escapes) and a separator. */
const jsonChars = (s: string) => JSON.stringify(s).length + 1;

const clipString = (s: string, max: number, c: Clip): string => {
  const keep = Math.max(0, Math.min(max, c.budget));
  const kept = s.length <= keep ? s : `${s.slice(0, keep)}…`;
  if (kept !== s) c.cut = true;
  c.budget -= jsonChars(kept);
  return kept;
};

/**
 * Walks a JSON value spending the budget on what it keeps (keys and strings as their JSON text, other values a few
 * characters), so the result is bounded whatever came in: once the budget is gone, further entries are left out.
 * The last string may overrun it by one string's worth (at most `stringChars`, escaped).
 */
function clipValue(v: unknown, depth: number, c: Clip): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') {
    c.budget -= 8;
    return v;
  }
  if (typeof v === 'string') return clipString(v, L.stringChars, c);
  if (typeof v !== 'object' || depth >= L.depth) {
    c.cut = true;
    c.budget -= 4;
    return null;
  }
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const item of v) {
      if (c.budget <= 0) return ((c.cut = true), out);
      out.push(clipValue(item, depth + 1, c));
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
    if (c.budget <= 0 || k.length > L.stringChars) {
      c.cut = true;
      if (c.budget <= 0) return out;
      continue;
    }
    c.budget -= jsonChars(k) + 1;
    out[k] = clipValue(item, depth + 1, c);
  }
  return out;
}

export function clipJson<T>(v: T, c: Clip = { budget: L.jsonChars, cut: false }): { value: T; cut: boolean } {
  return { value: clipValue(v, 0, c) as T, cut: c.cut };
}

function firstKeys(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in o) out[k] = o[k];
  return Object.assign(out, o);
}

const clipText = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max)}…` : s);

const textPreview = (t: Job['texts'][number]): TextPreview => ({
  nodeId: clipText(t.nodeId, 100),
  index: t.index,
  text: clipText(t.text, L.textChars),
  bytes: Buffer.byteLength(t.text),
  cut: t.text.length > L.textChars,
});

const outputSummary = (o: Output): Output =>
  o.filename.length > L.messageChars ? { ...o, filename: clipText(o.filename, L.messageChars) } : o;

/**
 * The one place a job becomes a list item: every field a row renders, with each string, text and list cut to
 * JOB_SUMMARY_LIMITS, so a summary is a few tens of KiB at most whatever the job holds.
 */
export function summarizeJob(job: Job): JobSummary {
  const { texts, then, outputs, metadata, error, ...rest } = job;
  // What rows read (template, params) goes first, so a caller's own bulky metadata cannot crowd it out.
  const meta = clipJson(firstKeys(metadata, ['template', 'params']));
  let errorCut = false;
  let err = error;
  if (error) {
    const details = error.details === undefined ? null : clipJson(error.details);
    errorCut = error.message.length > L.messageChars || (details?.cut ?? false);
    err = {
      code: error.code,
      message: clipText(error.message, L.messageChars),
      ...(details ? { details: details.value } : {}),
    };
  }
  const shownTexts = texts.slice(0, L.texts).map(textPreview);
  const shownOutputs = outputs.slice(0, L.outputs).map(outputSummary);
  const truncated =
    meta.cut ||
    errorCut ||
    texts.length > L.texts ||
    shownTexts.some((t) => t.cut) ||
    outputs.length > L.outputs ||
    shownOutputs.some((o, i) => o !== outputs[i]);
  return {
    ...rest,
    client: clipText(rest.client, L.messageChars),
    waiting:
      rest.waiting === undefined || rest.waiting === null ? rest.waiting : clipText(rest.waiting, L.messageChars),
    error: err,
    metadata: meta.value,
    outputs: shownOutputs,
    outputCount: outputs.length,
    texts: shownTexts,
    textCount: texts.length,
    thenCount: then.length,
    truncated,
  };
}
