import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { provenanceFromPng } from '@comfygate/shared/manifest';
import type { Ctx } from '../context.js';
import { pngPostprocess } from '../outputs.js';
import { runAndSave } from './run.js';

/** The explorer's file, else the active tab's: an image opens in a preview, which is no text editor. */
function targetFile(uri: vscode.Uri | undefined): vscode.Uri | undefined {
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined;
  return uri ?? (tab?.uri instanceof vscode.Uri ? tab.uri : undefined) ?? vscode.window.activeTextEditor?.document.uri;
}

const CONTENT_TYPE: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
};

/** A PNG's pixel size from its IHDR chunk, so Regenerate makes the same size the original had. */
function pngSize(bytes: Buffer): { width: number; height: number } | null {
  if (bytes.length < 24 || bytes.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/** Use as Reference: img2img with a prompt, upscale, or remove the background; the result lands beside the file. */
export async function useAsReference(ctx: Ctx, uri?: vscode.Uri): Promise<void> {
  const file = targetFile(uri);
  if (!file) return void vscode.window.showWarningMessage('comfygate: pick an image in the explorer');
  const type = CONTENT_TYPE[path.extname(file.fsPath).toLowerCase()];
  if (!type)
    return void vscode.window.showWarningMessage('comfygate: Use as Reference takes a PNG, JPEG or WebP image');
  const picked = await vscode.window.showQuickPick(
    [
      { label: 'img2img', description: 'a new image guided by this one', template: 'img2img' },
      { label: 'upscale', description: 'a larger copy', template: 'upscale' },
      { label: 'remove background', description: 'a cut-out with transparency', template: 'remove-background' },
    ],
    { title: 'comfygate: use as reference', ignoreFocusOut: true },
  );
  if (!picked) return;
  const params: Record<string, unknown> = {};
  let prompt: string | null = null;
  if (picked.template === 'img2img') {
    prompt =
      (await vscode.window.showInputBox({
        title: 'comfygate: prompt',
        prompt: 'What to make of the image',
        ignoreFocusOut: true,
      })) ?? null;
    if (!prompt) return;
    params.prompt = prompt;
  }
  const client = await ctx.connection.client();
  params.image = (await client.uploadAsset(fs.readFileSync(file.fsPath), type)).sha256;
  const name = path.basename(file.fsPath);
  const job = { template: picked.template, params, postprocess: pngPostprocess };
  const label = `${picked.label} of ${name}`;
  await runAndSave(ctx, {
    job,
    count: 1,
    dir: path.dirname(file.fsPath),
    prompt: prompt ?? `${path.parse(name).name} ${picked.label}`,
    label,
  });
}

/**
 * Vary (same prompt, template and size, a new seed) and Regenerate (the same seed too), from the provenance the
 * daemon wrote into the PNG. The result lands beside the original, never over it.
 */
export async function fromProvenance(ctx: Ctx, mode: 'vary' | 'regenerate', uri?: vscode.Uri): Promise<void> {
  const file = targetFile(uri);
  if (!file) return void vscode.window.showWarningMessage('comfygate: pick a generated PNG');
  const bytes = fs.readFileSync(file.fsPath);
  const prov = provenanceFromPng(bytes);
  const name = path.basename(file.fsPath);
  if (!prov?.prompt)
    return void vscode.window.showWarningMessage(
      `comfygate: ${name} has no comfygate provenance (prompt, seed) to ${mode} from`,
    );
  const template = prov.template ?? 'txt2img';
  const params: Record<string, unknown> = { prompt: prov.prompt };
  if (prov.negative) params.negative = prov.negative;
  if (mode === 'regenerate' && prov.seed !== undefined) params.seed = prov.seed;
  const client = await ctx.connection.client();
  const size = pngSize(bytes);
  const names = new Set((await client.template(template)).params.map((p) => p.name));
  if (size && names.has('width') && names.has('height')) Object.assign(params, size);
  const job = { template, params, postprocess: pngPostprocess };
  const label = `${mode === 'vary' ? 'Vary' : 'Regenerate'} ${name}`;
  await runAndSave(ctx, { job, count: 1, dir: path.dirname(file.fsPath), prompt: prov.prompt, label });
}
