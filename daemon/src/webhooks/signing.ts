import crypto from 'node:crypto';
import { isWebhookSecret, WEBHOOK_SECRET_PREFIX } from '@comfygate/shared';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): HMAC-SHA256 over `${id}.${timestamp}.${body}`
 * keyed with the base64-decoded part of the `whsec_` secret, sent as `v1,<base64>`.
 */

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** 32 random bytes: inside the spec's 24 to 64. */
export function generateSecret(): string {
  return WEBHOOK_SECRET_PREFIX + crypto.randomBytes(32).toString('base64');
}

export function secretKey(secret: string): Buffer {
  if (!isWebhookSecret(secret)) throw new Error('not a whsec_ secret of 24 to 64 base64 bytes');
  return Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const mac = crypto.createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export function signedHeaders(secret: string, id: string, body: string, now = Date.now()): SignedHeaders {
  const timestamp = Math.floor(now / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(secret, id, timestamp, body),
  };
}

/**
 * A receiver's check: one of the space-separated `v1,` signatures matches (in constant time) and the
 * timestamp is within `toleranceSec` of now, which bounds replays of a captured request.
 */
export function verify(
  secret: string,
  headers: Record<string, string | undefined>,
  body: string,
  opts: { now?: number; toleranceSec?: number } = {},
): boolean {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (!id || !ts || !sigs || !/^\d+$/.test(ts)) return false;
  const nowSec = Math.floor((opts.now ?? Date.now()) / 1000);
  if (Math.abs(nowSec - Number(ts)) > (opts.toleranceSec ?? 300)) return false;
  const expected = Buffer.from(sign(secret, id, Number(ts), body).slice(3), 'base64');
  return sigs.split(' ').some((entry) => {
    const [version, mac] = entry.split(',', 2);
    if (version !== 'v1' || !mac) return false;
    const given = Buffer.from(mac, 'base64');
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}

/** What listings show: enough to tell two secrets apart, not enough to sign. */
export function maskSecret(secret: string): string {
  return `${WEBHOOK_SECRET_PREFIX}…${secret.slice(-4)}`;
}
