/**
 * The ComfyUI texts in a WEBP's EXIF. ComfyUI's animated savers (SaveAnimatedWEBP and the video savers that
 * write WEBP) have no PNG text chunks to use, so they put each `extra_pnginfo` entry and the prompt into IFD0
 * ASCII tags as `"<key>:<json>"`: `workflow` in Make (0x010F), `prompt` in Model (0x0110), further keys in the
 * tags below. Only IFD0's ASCII entries are read, bounds-checked against the buffer.
 */

/** key → text of every `"<key>:<text>"` ASCII entry in IFD0 (the first entry of a key wins). */
export function readExifTexts(exif: Buffer): Record<string, string> {
  // sharp gives the EXIF payload as stored in the WEBP chunk; some writers keep the JPEG-style "Exif\0\0" prefix.
  const tiff = exif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? exif.subarray(6) : exif;
  if (tiff.length < 8) return {};
  const order = tiff.subarray(0, 2).toString('latin1');
  if (order !== 'II' && order !== 'MM') return {};
  const le = order === 'II';
  const u16 = (at: number) => (le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (le ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  if (u16(2) !== 42) return {};
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return {};
  const out: Record<string, string> = {};
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) break;
    const type = u16(entry + 2);
    const length = u32(entry + 4);
    if (type !== 2 && type !== 7) continue; // ASCII, or UNDEFINED bytes as some writers store text
    const start = length <= 4 ? entry + 8 : u32(entry + 8);
    if (start + length > tiff.length) continue;
    const text = tiff
      .subarray(start, start + length)
      .toString('utf8')
      .replace(/\0+$/, '');
    const colon = text.indexOf(':');
    if (colon <= 0) continue;
    const key = text.slice(0, colon);
    if (/^[A-Za-z0-9_]+$/.test(key) && !Object.hasOwn(out, key)) out[key] = text.slice(colon + 1);
  }
  return out;
}
