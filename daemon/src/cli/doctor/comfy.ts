import { capabilitiesFrom } from '../../comfy/capabilities.js';
import { ComfyHttp } from '../../comfy/http.js';
import { DEFAULT_CKPT } from '../graph.js';
import { ANSWER_MS, type Check, fail, ok, portOf, reason, warn, withTimeout } from './types.js';

/** What the CLI's own txt2img graph and image inputs need; all ship with ComfyUI itself. */
export const CORE_NODES = ['KSampler', 'CheckpointLoaderSimple', 'SaveImage', 'LoadImage'];

/** ComfyUI at `url`, checked directly (the daemon may not be running): reachable, version, models, core nodes. */
export async function checkComfy(name: string, url: string): Promise<Check[]> {
  const label = `ComfyUI '${name}'`;
  const comfy = new ComfyHttp(url);
  try {
    let version: string | undefined;
    try {
      version = (await withTimeout(comfy.systemStats(), ANSWER_MS, 'GET /system_stats')).system?.comfyui_version;
    } catch (err) {
      return [
        fail(
          label,
          `not reachable at ${url} (${reason(err)})`,
          `start ComfyUI (python main.py --port ${portOf(new URL(url))}) or pass --backend URL`,
        ),
      ];
    }
    const reachable = ok(label, `reachable at ${url}, version ${version ?? 'unknown (older than 2024?)'}`);
    try {
      const info = await withTimeout(comfy.objectInfo(), ANSWER_MS * 4, 'GET /object_info');
      return [reachable, ...checkModels(label, info), checkNodes(label, info)];
    } catch (err) {
      return [
        reachable,
        fail(
          `${label} nodes`,
          `cannot read /object_info at ${url} (${reason(err)})`,
          'update ComfyUI (git pull) and restart it',
        ),
      ];
    }
  } finally {
    // Not awaited: after a timeout, close() would wait for the hung request it cannot cancel.
    void comfy.close().catch(() => {});
  }
}

type Info = Awaited<ReturnType<ComfyHttp['objectInfo']>>;

function checkModels(label: string, info: Info): Check[] {
  const ckpts = capabilitiesFrom(info).combos.CheckpointLoaderSimple?.ckpt_name ?? [];
  const where = 'put a checkpoint (.safetensors) in ComfyUI/models/checkpoints and restart ComfyUI';
  if (ckpts.length === 0) return [fail(`${label} models`, 'no checkpoint models found', where)];
  const shown = ckpts.slice(0, 3).join(', ') + (ckpts.length > 3 ? `, … (${ckpts.length} in all)` : '');
  const checks = [ok(`${label} models`, `${ckpts.length} checkpoint(s): ${shown}`)];
  if (!ckpts.includes(DEFAULT_CKPT))
    checks.push(
      warn(
        `${label} models`,
        `the default checkpoint ${DEFAULT_CKPT} is missing`,
        `pass --ckpt <name> to \`comfygate submit\`, or ${where}`,
      ),
    );
  return checks;
}

function checkNodes(label: string, info: Info): Check {
  const missing = CORE_NODES.filter((n) => !(n in info));
  if (missing.length)
    return fail(
      `${label} nodes`,
      `missing core nodes: ${missing.join(', ')}`,
      'update ComfyUI (git pull) and restart it; these ship with ComfyUI',
    );
  return ok(`${label} nodes`, `core nodes present (${Object.keys(info).length} node classes)`);
}
