import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { abortOnHangup, clientBytes, multipartParser } from '../multipart.js';
import { IMAGE_TYPES, looksLikeMarkup, sniffImage } from '../../assets/sniff.js';
import { GatewayError } from '../../errors.js';
import { V2Error } from './errors.js';

export interface UploadParts {
  contentType: string;
  filePath: string;
  expectedHash: string | null;
  file: AsyncIterable<Uint8Array>;
}

const invalid = (message: string) => new V2Error(422, 'invalid_request', message);
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

/**
 * The §5.1 multipart body: metadata parts first, `file` last (the SDK's order, which Cloud requires so
 * the file can be streamed without buffering). Resolves as soon as the file part starts.
 */
export function readUpload(req: IncomingMessage, maxBytes: number): Promise<UploadParts> {
  if (!req.headers['content-type']?.toLowerCase().startsWith('multipart/form-data')) {
    return Promise.reject(
      new V2Error(
        400,
        'invalid_request',
        'POST /assets takes multipart/form-data (content_type, file_path, expected_hash?, file)',
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const fields = new Map<string, string>();
    let stream: Readable | null = null;
    const bb = multipartParser(req, { files: 1, fileSize: maxBytes + 1, fields: 32, fieldSize: 64 * 1024 }, invalid);
    bb.on('field', (name, value) => void fields.set(name, value));
    bb.once('file', (name, file) => {
      const contentType = fields.get('content_type')?.split(';')[0]!.trim().toLowerCase();
      const filePath = fields.get('file_path')?.trim();
      const fail = (message: string) => (file.resume(), reject(invalid(message)));
      if (name !== 'file') return fail(`the file part must be named 'file', not '${name}'`);
      if (!contentType) return fail('content_type is required and must be sent before the file field');
      if (!MIME.test(contentType)) return fail(`content_type '${contentType.slice(0, 100)}' is not a MIME type`);
      if (!filePath) return fail('file_path is required and must be sent before the file field');
      // eslint-disable-next-line no-control-regex
      if (filePath.length > 1024 || /[\u0000-\u001f]/.test(filePath))
        return fail('file_path must be at most 1024 characters, without control characters');
      resolve({
        contentType,
        filePath,
        expectedHash: fields.get('expected_hash') ?? null,
        file: clientBytes((stream = file), invalid),
      });
    });
    bb.on('error', (err) => reject(invalid(`malformed multipart body: ${(err as Error).message}`)));
    bb.once('close', () => reject(invalid("the multipart body has no 'file' part")));
    abortOnHangup(
      req,
      bb,
      () => stream,
      () => invalid('upload aborted'),
    );
    req.pipe(bb);
  });
}

/** Types a browser would run as a document or script if it ever got one inline: never stored, whatever the bytes. */
const ACTIVE_TYPES =
  /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/javascript|application\/javascript|application\/ecmascript)$/;
export const INLINE_TYPES = new Set(Object.values(IMAGE_TYPES));

/**
 * v2 inputs need not be images (audio, video, latents…), so unknown bytes keep their declared type. But images
 * are identified from their bytes, decoded once and bounded in pixels (as on /v1); bytes declared as an image that
 * are none, and markup, are refused: markup is a script carrier when served back.
 */
export async function inspectUpload(
  file: string,
  declared: string,
  maxPixels: number,
): Promise<{ contentType: string; width: number | null; height: number | null }> {
  if (ACTIVE_TYPES.test(declared) || (await looksLikeMarkup(file))) {
    throw new GatewayError({
      code: 'unsupported_media_type',
      message: 'HTML, SVG, XML and script uploads are refused',
    });
  }
  const image = await sniffImage(file, maxPixels);
  if (image) return image;
  if (declared.startsWith('image/')) {
    throw new GatewayError({
      code: 'unsupported_media_type',
      message: `declared ${declared}, but the bytes are not an image comfygate accepts`,
    });
  }
  return { contentType: declared || 'application/octet-stream', width: null, height: null };
}
