/**
 * A UI (editor) workflow where an API-format graph belongs is the most common mistake with ComfyUI files: the
 * editor's "Save" writes `{nodes: [...], links: [...]}`, while jobs need "Export (API)". One test and one hint,
 * for the daemon's HTTP errors and the CLI alike.
 */
export function isUiWorkflow(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return Array.isArray(v.nodes) && ('links' in v || 'last_node_id' in v || 'version' in v);
}

export const UI_WORKFLOW_HINT =
  "this is a UI (editor) workflow, not an API-format graph: export it with 'Export (API)' ('Save (API)' in older versions) " +
  'in ComfyUI, or import it as a template (comfygate templates import file.json, or POST /v1/templates {name, workflow}) and run that';
