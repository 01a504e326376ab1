import { z } from 'zod';

/** The gallery webview's wire contract, both ways. The webview never sees the token: it only names files. */
export const GalleryItem = z.object({
  file: z.string().describe('absolute path in the workspace'),
  name: z.string(),
  prompt: z.string().nullable(),
  seed: z.string().nullable(),
  template: z.string().nullable(),
  jobId: z.string().nullable(),
  at: z.number(),
});
export type GalleryItem = z.infer<typeof GalleryItem>;

export const ToWebview = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('items'),
    items: z.array(GalleryItem.extend({ src: z.string().describe('asWebviewUri of the file') })),
  }),
]);
export type ToWebview = z.infer<typeof ToWebview>;

export const GalleryAction = z.enum(['open', 'reveal', 'copyPath', 'insertMarkdown', 'regenerate']);
export type GalleryAction = z.infer<typeof GalleryAction>;

export const FromWebview = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('action'), action: GalleryAction, file: z.string() }),
]);
export type FromWebview = z.infer<typeof FromWebview>;
