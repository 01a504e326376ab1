import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isWebhookSecret } from '@comfygate/shared';
import { generateSecret, maskSecret, sign, signedHeaders, verify } from './signing.js';

// The expected values are computed here from the spec's formula with node:crypto, never with the code under test.
const SECRET_BYTES = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const SECRET = `whsec_${SECRET_BYTES.toString('base64')}`;
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const BODY = '{"test": 2432232314}';
const specSignature = (key: Buffer, id: string, ts: number, body: string) =>
  `v1,${crypto.createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;

describe('Standard Webhooks signing', () => {
  it('signs HMAC-SHA256 over id.timestamp.body with the base64-decoded secret', () => {
    expect(sign(SECRET, ID, TS, BODY)).toBe(specSignature(SECRET_BYTES, ID, TS, BODY));
  });

  it('matches the published Standard Webhooks example', () => {
    // The example used by the spec's reference libraries (a 24-byte secret).
    expect(sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', ID, TS, BODY)).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('sends integer unix seconds and the id unchanged', () => {
    const h = signedHeaders(SECRET, 'wh_1_evt_7', BODY, 1_700_000_000_999);
    expect(h).toEqual({
      'webhook-id': 'wh_1_evt_7',
      'webhook-timestamp': '1700000000',
      'webhook-signature': specSignature(SECRET_BYTES, 'wh_1_evt_7', 1_700_000_000, BODY),
    });
  });

  it('verifies its own signatures and rejects tampering, other secrets, stale timestamps and other versions', () => {
    const now = TS * 1000;
    const h = { 'webhook-id': ID, 'webhook-timestamp': String(TS), 'webhook-signature': sign(SECRET, ID, TS, BODY) };
    expect(verify(SECRET, h, BODY, { now })).toBe(true);
    expect(verify(SECRET, { ...h, 'webhook-signature': `v1,bogus ${h['webhook-signature']}` }, BODY, { now })).toBe(
      true,
    );
    expect(verify(SECRET, h, BODY.replace('2', '3'), { now })).toBe(false);
    expect(verify(SECRET, { ...h, 'webhook-id': 'msg_other' }, BODY, { now })).toBe(false);
    expect(verify(generateSecret(), h, BODY, { now })).toBe(false);
    expect(verify(SECRET, h, BODY, { now: now + 301_000 })).toBe(false);
    expect(
      verify(SECRET, { ...h, 'webhook-signature': h['webhook-signature'].replace('v1,', 'v2,') }, BODY, { now }),
    ).toBe(false);
    expect(verify(SECRET, { ...h, 'webhook-timestamp': undefined }, BODY, { now })).toBe(false);
  });
});

describe('webhook secrets', () => {
  const b64 = (n: number) => `whsec_${crypto.randomBytes(n).toString('base64')}`;

  it('generates whsec_ + base64 of 32 random bytes', () => {
    const s = generateSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(s.slice(6), 'base64')).toHaveLength(32);
    expect(isWebhookSecret(s)).toBe(true);
    expect(generateSecret()).not.toBe(s);
  });

  it('accepts 24 to 64 bytes of canonical base64 after the prefix, nothing else', () => {
    expect(isWebhookSecret(b64(24))).toBe(true);
    expect(isWebhookSecret(b64(64))).toBe(true);
    expect(isWebhookSecret(b64(23))).toBe(false);
    expect(isWebhookSecret(b64(65))).toBe(false);
    expect(isWebhookSecret(b64(32).slice(6))).toBe(false); // no prefix
    expect(isWebhookSecret(`whsec_${'-'.repeat(44)}`)).toBe(false); // base64url is not the spec's alphabet
    expect(isWebhookSecret(`whsec_${crypto.randomBytes(32).toString('base64').slice(0, -1)}`)).toBe(false); // padding cut
    expect(isWebhookSecret('whsec_')).toBe(false);
    expect(isWebhookSecret(`whsec_ ${crypto.randomBytes(30).toString('base64')}`)).toBe(false);
  });

  it('masks a secret down to its last 4 characters', () => {
    const s = generateSecret();
    expect(maskSecret(s)).toBe(`whsec_…${s.slice(-4)}`);
    expect(maskSecret(s)).not.toContain(s.slice(6, 20));
  });
});
