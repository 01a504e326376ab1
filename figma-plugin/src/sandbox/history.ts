import { PLUGIN_DATA_KEY, type Provenance } from '../protocol';
import { provenanceOf } from './provenance';

/** This page's generations, newest first, read back from the pluginData every generated node carries. */
export function pageHistory(page: PageNode): { nodeId: string; name: string; provenance: Provenance }[] {
  const nodes = page.findAll((n) => n.getPluginData(PLUGIN_DATA_KEY) !== '');
  return nodes
    .map((n) => ({ nodeId: n.id, name: n.name, provenance: provenanceOf(n) }))
    .filter((e): e is { nodeId: string; name: string; provenance: Provenance } => e.provenance !== null)
    .sort((a, b) => b.provenance.createdAt - a.provenance.createdAt)
    .slice(0, 100);
}
