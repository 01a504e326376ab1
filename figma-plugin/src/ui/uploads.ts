import type { GatewayClient } from '@comfygate/shared/browser';

async function sha256Hex(bytes: Uint8Array): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A reference image as an asset id. The same selection exported twice gives the same bytes, so the hash is asked
 * about first (HEAD) and the upload skipped when the daemon has it; without WebCrypto it just uploads (the daemon
 * dedupes by content anyway).
 */
export async function ensureAsset(
  client: GatewayClient,
  bytes: Uint8Array,
): Promise<{ sha256: string; uploaded: boolean }> {
  const sha = await sha256Hex(bytes);
  if (sha && (await client.hasAsset(sha))) return { sha256: sha, uploaded: false };
  return { sha256: (await client.uploadAsset(bytes, 'image/png')).sha256, uploaded: true };
}
