import { z } from 'zod';
import { AssetManifest } from '@comfygate/shared/manifest';

/**
 * The JSON schema shipped in the .vsix for `comfygate.assets.json` (contributed through jsonValidation), made from
 * the same zod schema the CLI and the extension validate with. `io: 'input'` describes what a person writes
 * (defaults optional).
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(AssetManifest, { io: 'input', unrepresentable: 'any', target: 'draft-7' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    title: 'comfygate asset manifest',
    $id: 'https://comfygate.local/schemas/comfygate.assets.schema.json',
  };
}
