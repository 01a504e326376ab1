import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

/**
 * The part of `fetch` GatewayClient uses, over node:http. Each CLI command is one short process, and the first
 * global `fetch` loads Node's bundled undici: 30–200 ms of every command's start, more than the request itself.
 * Responses offer what the client reads: status, headers.get, json, text, arrayBuffer, and `body` as a web stream
 * (the event stream behind `submit`'s progress).
 */
export function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    // Not `instanceof Request`: reading the global `Request` is what loads undici.
    const url = new URL(typeof input === 'object' && !(input instanceof URL) ? input.url : String(input));
    const request = url.protocol === 'https:' ? https.request : http.request;
    const req = request(
      url,
      {
        method: init.method ?? 'GET',
        headers: init.headers as Record<string, string> | undefined,
        signal: init.signal ?? undefined,
      },
      (res) => {
        const bytes = async (): Promise<Buffer> => {
          const chunks: Buffer[] = [];
          for await (const chunk of res) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks);
        };
        const status = res.statusCode ?? 0;
        resolve({
          ok: status >= 200 && status < 300,
          status,
          statusText: res.statusMessage ?? '',
          url: url.href,
          headers: {
            get(name: string): string | null {
              const v = res.headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
            },
          },
          json: async () => JSON.parse((await bytes()).toString('utf8')),
          text: async () => (await bytes()).toString('utf8'),
          arrayBuffer: async () => {
            const b = await bytes();
            return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
          },
          get body() {
            return Readable.toWeb(res);
          },
        } as unknown as Response);
      },
    );
    req.on('error', reject);
    const body = init.body;
    if (body === undefined || body === null) req.end();
    else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
    else if (body instanceof Blob) body.arrayBuffer().then((b) => req.end(Buffer.from(b)), reject);
    else reject(new TypeError('nodeFetch: unsupported body type'));
  });
}
