import type { ResultImage } from '../protocol';
import { gridCells } from '../sizes';
import { markGenerated } from './provenance';
import { isFillable } from './selection';

const GAP = 24;

/** The target's image fill replaced by the result, keeping how the designer had the image scaled. */
function fillTarget(api: PluginAPI, target: SceneNode, img: ResultImage): SceneNode {
  if (!isFillable(target)) throw new Error(`'${target.name}' cannot take an image fill`);
  const old = Array.isArray(target.fills) ? (target.fills as Paint[]) : [];
  const previous = old.find((f): f is ImagePaint => f.type === 'IMAGE');
  const hash = api.createImage(img.bytes).hash;
  const paint: ImagePaint = { type: 'IMAGE', imageHash: hash, scaleMode: previous?.scaleMode ?? 'FILL' };
  target.fills = [paint];
  markGenerated(target, img.provenance);
  return target;
}

/**
 * New frames named after the prompt, beside the target (or in the middle of the view), one per image, as a grid
 * when there are several. Frames are sized like the target so a variation can replace it one for one.
 */
function placeFrames(api: PluginAPI, target: SceneNode | null, name: string, images: ResultImage[]): SceneNode[] {
  const first = images[0]!;
  const tile = target
    ? { width: target.width, height: (target.width * first.height) / first.width }
    : { width: first.width, height: first.height };
  const box = target ? (target.absoluteBoundingBox ?? { x: target.x, y: target.y }) : null;
  const origin = box
    ? { x: box.x + target!.width + GAP, y: box.y }
    : { x: Math.round(api.viewport.center.x - tile.width / 2), y: Math.round(api.viewport.center.y - tile.height / 2) };
  return gridCells(images.length, tile.width, tile.height, GAP).map((cell, i) => {
    const frame = api.createFrame();
    frame.name = name;
    frame.resize(tile.width, tile.height);
    frame.x = origin.x + cell.x;
    frame.y = origin.y + cell.y;
    fillTarget(api, frame, images[i]!);
    api.currentPage.appendChild(frame);
    return frame;
  });
}

export async function placeResults(
  api: PluginAPI,
  o: { targetId: string | null; mode: 'fill' | 'frames'; name: string; images: ResultImage[] },
): Promise<SceneNode[]> {
  const node = o.targetId ? await api.getNodeByIdAsync(o.targetId) : null;
  const target = node && 'visible' in node ? (node as SceneNode) : null;
  const placed =
    o.mode === 'fill' && target && o.images.length === 1
      ? [fillTarget(api, target, o.images[0]!)]
      : placeFrames(api, target, o.name, o.images);
  api.currentPage.selection = placed;
  return placed;
}
