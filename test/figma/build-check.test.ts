import { builtinModules } from 'node:module';
import { parse } from 'acorn';
import { beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { ensurePluginBuilt } from './plugin-build.js';

let built: Awaited<ReturnType<typeof ensurePluginBuilt>>;
beforeAll(async () => void (built = await ensurePluginBuilt()), 120_000);

it('dist/code.js is one ES2017 script with no require() and no Node built-ins', () => {
  expect(() => parse(built.code, { ecmaVersion: 2017, sourceType: 'script' })).not.toThrow();
  expect(built.code).not.toMatch(/\brequire\s*\(/);
  expect(built.code).not.toMatch(/\bimport\s*\(|^\s*import\s/m);
  const nodeOnly = builtinModules.filter((m) => !m.startsWith('_')).map((m) => `node:${m}`);
  for (const m of nodeOnly) expect(built.code).not.toContain(`"${m}"`);
  expect(built.code).not.toMatch(/\bprocess\.(env|argv|versions)\b|\bBuffer\.from\b|__dirname/);
});

it('dist/ui.html is self-contained: inline script and style, nothing loaded from the network', () => {
  const html = built.html;
  expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
  expect(html).not.toMatch(/<link\b/i);
  expect(html).not.toMatch(/@import|url\(\s*['"]?(https?:)?\/\//i);
  expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//i);
  expect(html.match(/<script>/g)).toHaveLength(1);
  expect(html).toContain('<style>');
  expect(html).not.toContain('/*SCRIPT*/');
  // Figma's iframe has no storage and no popups: the UI must not lean on them.
  expect(html).not.toMatch(/localStorage\.|sessionStorage\.|window\.open\(|\balert\(|\.submit\(\)/);
  expect(html).toMatch(/connect-src http:\/\/localhost:\* http:\/\/127\.0\.0\.1:\*/);
});

/**
 * Figma's documented manifest fields (developers.figma.com/docs/plugins/manifest), written for this test: the
 * typings package ships none. Unknown keys are refused, so a misspelt field fails here instead of being ignored.
 */
const Domain = z.string().regex(/^(none|\*|(https?|wss?):\/\/[^\s/]+(\/\S*)?|\*?\.?[a-z0-9.-]+(\/\S*)?)$/i);
const FigmaManifest = z.strictObject({
  name: z.string().min(1),
  id: z.string().min(1),
  api: z.string().regex(/^\d+\.\d+\.\d+$/),
  main: z.string().min(1),
  ui: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
  editorType: z.array(z.enum(['figma', 'figjam', 'dev', 'slides', 'buzz'])).min(1),
  documentAccess: z.literal('dynamic-page').optional(),
  networkAccess: z
    .strictObject({
      allowedDomains: z.array(Domain).min(1),
      reasoning: z.string().optional(),
      devAllowedDomains: z.array(Domain).optional(),
    })
    .optional(),
  relaunchButtons: z
    .array(
      z.strictObject({
        command: z.string().min(1),
        name: z.string().min(1),
        multipleSelection: z.boolean().optional(),
      }),
    )
    .optional(),
  permissions: z.array(z.enum(['currentuser', 'activeusers', 'fileusers', 'payments', 'teamlibrary'])).optional(),
  enableProposedApi: z.boolean().optional(),
  enablePrivatePluginApi: z.boolean().optional(),
  build: z.string().optional(),
  capabilities: z.array(z.enum(['textreview', 'codegen', 'inspect', 'vscode'])).optional(),
  menu: z.array(z.unknown()).optional(),
  parameters: z.array(z.unknown()).optional(),
  parameterOnly: z.boolean().optional(),
});

it("the manifest passes a schema of Figma's documented fields and declares what the plugin needs", () => {
  const m = FigmaManifest.parse(built.manifest);
  expect([m.main, m.ui, m.documentAccess]).toEqual(['code.js', 'ui.html', 'dynamic-page']);
  expect(m.editorType).toContain('figma');
  expect(m.networkAccess!.allowedDomains).toEqual(
    expect.arrayContaining(['http://localhost:8288', 'http://127.0.0.1:8288']),
  );
  // Figma asks for a reason whenever a plugin reaches localhost.
  expect(m.networkAccess!.reasoning!.length).toBeGreaterThan(20);
  expect(m.networkAccess!.devAllowedDomains!.every((d) => /^http:\/\/(localhost|127\.0\.0\.1):\d+$/.test(d))).toBe(
    true,
  );
  expect(m.relaunchButtons!.map((b) => [b.command, b.name])).toEqual([
    ['vary', 'Vary'],
    ['regenerate', 'Regenerate'],
    ['upscale', 'Upscale'],
    ['remove-background', 'Remove background'],
  ]);
  expect(FigmaManifest.safeParse({ ...m, networkAcess: {} }).success).toBe(false);
});
