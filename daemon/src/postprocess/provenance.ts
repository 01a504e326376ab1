import type { OutputFormat, Provenance } from '@comfygate/shared';
import type { Sharp } from 'sharp';
import { textChunk } from './png-text.js';

/** PNG keywords we write; a kept source chunk with the same keyword is dropped so readers see ours. */
export const PROVENANCE_KEYWORDS: ReadonlySet<string> = new Set(['comfygate', 'parameters']);
export const XMP_NS = 'urn:comfygate:provenance:1#';
const SOFTWARE = 'comfygate';

const FIELDS = ['prompt', 'negative', 'seed', 'template', 'jobId', 'backend', 'model'] as const;

export const hasProvenance = (p: Provenance | undefined): p is Provenance =>
  !!p && FIELDS.some((k) => p[k] !== undefined);

/** The `parameters` text A1111-style tools show: prompt, `Negative prompt:`, then `Key: value` pairs. */
export function parametersText(p: Provenance): string {
  const pairs = [
    ['Seed', p.seed],
    ['Model', p.model],
    ['Template', p.template],
    ['Job', p.jobId],
    ['Backend', p.backend],
  ]
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${String(v)}`);
  const lines = [p.prompt ?? ''];
  if (p.negative !== undefined) lines.push(`Negative prompt: ${p.negative}`);
  if (pairs.length) lines.push(pairs.join(', '));
  return lines.join('\n');
}

/** Field order fixed, absent fields left out: the same provenance always gives the same bytes (and sha256). */
export function provenanceJson(p: Provenance): string {
  const out: Record<string, unknown> = { software: SOFTWARE };
  for (const k of FIELDS) if (p[k] !== undefined) out[k] = p[k];
  return JSON.stringify(out);
}

/** One `comfygate` JSON chunk for machines, one `parameters` text for people and A1111-style readers. */
export function pngProvenanceChunks(p: Provenance): Buffer[] {
  return [textChunk('parameters', parametersText(p)), textChunk('comfygate', provenanceJson(p))];
}

/**
 * JPEG, WebP and AVIF: EXIF and XMP. libvips writes EXIF strings as ASCII (it transliterates), so the EXIF
 * UserComment carries the JSON with every non-ASCII character \u-escaped (lossless); XMP carries UTF-8 as is.
 */
export function withProvenance(img: Sharp, format: OutputFormat, p: Provenance): Sharp {
  if (format === 'png') return img;
  const json = asciiJson(provenanceJson(p));
  return img
    .withExif({
      IFD0: { ...(p.prompt && { ImageDescription: p.prompt }), Software: SOFTWARE },
      IFD2: { UserComment: json },
    })
    .withXmp(xmpPacket(p));
}

const asciiJson = (json: string) =>
  json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** XML 1.0 allows no C0 controls but tab, LF and CR. */
const xml = (s: string) =>
  s
    // eslint-disable-next-line no-control-regex -- XML 1.0 forbids these characters: dropped, not escaped
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function xmpPacket(p: Provenance): string {
  const props = FIELDS.filter((k) => p[k] !== undefined).map((k) => `<cg:${k}>${xml(String(p[k]))}</cg:${k}>`);
  const description =
    p.prompt !== undefined
      ? `<dc:description><rdf:Alt><rdf:li xml:lang="x-default">${xml(p.prompt)}</rdf:li></rdf:Alt></dc:description>`
      : '';
  return (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>' +
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    `<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:cg="${XMP_NS}">` +
    `<xmp:CreatorTool>${SOFTWARE}</xmp:CreatorTool>${description}${props.join('')}` +
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
  );
}
