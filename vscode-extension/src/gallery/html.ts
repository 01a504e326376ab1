/** The HTML shell: CSP `default-src 'none'`, the one script and style allowed by a fresh nonce, images from the webview's own source. */
export function galleryHtml(webview: { cspSource: string }, scriptUri: string, nonce: string): string {
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource}`,
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>comfygate gallery</title>
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 8px; }
ul { list-style: none; display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px; padding: 0; }
li { border: 1px solid var(--vscode-panel-border); border-radius: 4px; padding: 8px; }
img { width: 100%; height: 160px; object-fit: contain; background: var(--vscode-editor-background); }
p { margin: 4px 0; word-break: break-word; }
.meta { opacity: .75; font-size: 90%; }
button { margin: 2px; color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none;
  padding: 2px 6px; cursor: pointer; }
</style></head>
<body><h1>comfygate gallery</h1><p id="empty">Nothing generated in this workspace yet.</p>
<ul id="items" aria-label="Generated images"></ul>
<script nonce="${nonce}" src="${scriptUri}"></script></body></html>`;
}
