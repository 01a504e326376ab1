import type { ExportRequest, Exported } from '../protocol';
import { isFillable, maskIn } from './selection';

const scaleFor = (w: number, h: number, maxSide: number) => Math.min(1, maxSide / Math.max(w, h));

/**
 * The selection as PNG bytes for a reference image: scaled so its long side is at most `maxSide` (never up).
 * With a `mask` layer the image is rendered without it, and the mask alone on the frame's bounds, so both line up
 * pixel for pixel; the work happens on a throwaway clone, leaving the designer's layers (and undo history) alone.
 */
export async function exportSelection(api: PluginAPI, node: SceneNode, req: ExportRequest): Promise<Exported> {
  if (req.source === 'fill') return exportFill(api, node);
  const scale = scaleFor(node.width, node.height, req.maxSide);
  const settings: ExportSettingsImage = { format: 'PNG', constraint: { type: 'SCALE', value: scale } };
  const size = { width: Math.round(node.width * scale), height: Math.round(node.height * scale) };
  const mask = req.withMask ? maskIn(node) : null;
  if (!mask) return { image: await node.exportAsync(settings), ...size, mask: null };
  const withoutMask = node.clone() as SceneNode & ChildrenMixin;
  const maskOnly = api.createFrame();
  try {
    withoutMask.findChild((c) => c.name === mask.name)?.remove();
    const image = await withoutMask.exportAsync(settings);
    maskOnly.resize(node.width, node.height);
    maskOnly.fills = [];
    const m = mask.clone();
    maskOnly.appendChild(m);
    m.x = mask.x;
    m.y = mask.y;
    return { image, ...size, mask: await maskOnly.exportAsync(settings) };
  } finally {
    withoutMask.remove();
    maskOnly.remove();
  }
}

/** The original pixels of the node's image fill (what Expand grows), not the cropped view the frame shows. */
async function exportFill(api: PluginAPI, node: SceneNode): Promise<Exported> {
  const fills = isFillable(node) && Array.isArray(node.fills) ? (node.fills as Paint[]) : [];
  const fill = fills.find((f): f is ImagePaint => f.type === 'IMAGE' && !!f.imageHash);
  const image = fill ? api.getImageByHash(fill.imageHash!) : null;
  if (!image) throw new Error('the selection has no image fill to expand; generate or drop an image into it first');
  const { width, height } = await image.getSizeAsync();
  return { image: await image.getBytesAsync(), width, height, mask: null };
}
