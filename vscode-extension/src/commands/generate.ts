import * as vscode from 'vscode';
import type { Template } from '@comfygate/shared';
import { type Ctx, workspaceRoot } from '../context.js';
import { folderInside, pngPostprocess } from '../outputs.js';
import { runAndSave } from './run.js';

const SIZES = ['512×512', '768×768', '1024×1024', '512×768', '768×512', '1024×576'];
const setting = <T>(key: string, fallback: T): T =>
  vscode.workspace.getConfiguration('comfygate').get<T>(key) ?? fallback;

/** A folder inside the workspace; `..`, absolute paths and links out are refused so nothing is written elsewhere. */
export const folderInWorkspace = (rel: string): string | null => folderInside(workspaceRoot().fsPath, rel);

async function pickTemplate(templates: Template[]): Promise<Template | undefined> {
  const preferred = setting('defaultTemplate', 'txt2img');
  // Templates a prompt alone can run: one with a required image goes through Use as Reference instead.
  const needsImage = (t: Template) => t.params.some((p) => p.type === 'image' && p.default === undefined);
  const text = templates.filter((t) => t.params.some((p) => p.name === 'prompt') && !needsImage(t));
  text.sort((a, b) => Number(b.name === preferred) - Number(a.name === preferred) || a.name.localeCompare(b.name));
  const picked = await vscode.window.showQuickPick(
    text.map((t) => ({ label: t.name, description: t.description ?? '', template: t })),
    { title: 'comfygate: template', placeHolder: 'Template to run', ignoreFocusOut: true },
  );
  return picked?.template;
}

export async function generateImage(ctx: Ctx): Promise<void> {
  const client = await ctx.connection.client();
  const template = await pickTemplate(await client.templates());
  if (!template) return;
  const prompt = await vscode.window.showInputBox({
    title: 'comfygate: prompt',
    prompt: 'What to generate',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? null : 'a prompt, please'),
  });
  if (!prompt) return;
  const params: Record<string, unknown> = { prompt };
  if (template.params.some((p) => p.name === 'width') && template.params.some((p) => p.name === 'height')) {
    const size = await vscode.window.showQuickPick(SIZES, {
      title: 'comfygate: size',
      placeHolder: 'Width × height',
      ignoreFocusOut: true,
    });
    if (!size) return;
    const [w, h] = size.split('×').map(Number);
    Object.assign(params, { width: w, height: h });
  }
  const count = await vscode.window.showInputBox({
    title: 'comfygate: how many',
    value: '1',
    ignoreFocusOut: true,
    validateInput: (v) => (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 16 ? null : 'a number from 1 to 16'),
  });
  if (!count) return;
  const folder = await vscode.window.showInputBox({
    title: 'comfygate: target folder',
    prompt: 'Folder in the workspace',
    value: setting('outputFolder', 'assets/generated'),
    ignoreFocusOut: true,
    validateInput: (v) => (folderInWorkspace(v) ? null : 'a folder inside the workspace'),
  });
  if (folder === undefined) return;
  const dir = folderInWorkspace(folder)!;
  const job = { template: template.name, params, postprocess: pngPostprocess };
  await runAndSave(ctx, { job, count: Number(count), dir, prompt, label: `Generate Image (${template.name})` });
}

/** The selected text is the prompt; the image lands in the output folder with the default template. */
export async function generateFromSelection(ctx: Ctx): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const prompt = editor?.document.getText(editor.selection).trim();
  if (!prompt) {
    void vscode.window.showWarningMessage('comfygate: select the text to use as the prompt first');
    return;
  }
  const dir = folderInWorkspace(setting('outputFolder', 'assets/generated')) ?? workspaceRoot().fsPath;
  const template = setting('defaultTemplate', 'txt2img');
  const job = { template, params: { prompt }, postprocess: pngPostprocess };
  await runAndSave(ctx, { job, count: 1, dir, prompt, label: `Generate From Selection (${template})` });
}
