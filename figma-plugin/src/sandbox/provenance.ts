import { PLUGIN_DATA_KEY, Provenance, type RelaunchCommand } from '../protocol';

/** The relaunch buttons every generated node offers (their names are in the manifest's `relaunchButtons`). */
const RELAUNCH: Record<RelaunchCommand, string> = {
  vary: 'New variations of this image, with other seeds',
  regenerate: 'Run the same generation again',
  upscale: 'Upscale this image',
  'remove-background': 'Cut this image out of its background',
};

export function provenanceOf(node: BaseNode): Provenance | null {
  const raw = node.getPluginData(PLUGIN_DATA_KEY);
  if (!raw) return null;
  try {
    const parsed = Provenance.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function markGenerated(node: SceneNode, p: Provenance): void {
  node.setPluginData(PLUGIN_DATA_KEY, JSON.stringify(p));
  const prompt = p.prompt ? `“${p.prompt.slice(0, 80)}”` : p.template;
  node.setRelaunchData(
    Object.fromEntries(Object.entries(RELAUNCH).map(([command, what]) => [command, `${what}. ${prompt}`])),
  );
}
