/**
 * The plugin's sandbox half: it alone touches the document and clientStorage; the UI iframe does every network
 * call. Messages both ways are one checked union (protocol.ts).
 */
import { RelaunchCommand, type SandboxMessage, UiMessage } from './protocol';
import { exportSelection } from './sandbox/exporter';
import { pageHistory } from './sandbox/history';
import { placeResults } from './sandbox/placer';
import { describeSelection } from './sandbox/selection';
import { pluginStorage } from './sandbox/storage';

const storage = pluginStorage(figma.clientStorage);
const post = (m: SandboxMessage) => figma.ui.postMessage(m);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

figma.showUI(__html__, { width: 380, height: 680, themeColors: true, title: 'comfygate' });

figma.on('selectionchange', () => post({ type: 'selection', selection: describeSelection(figma.currentPage) }));

async function handle(msg: UiMessage): Promise<void> {
  switch (msg.type) {
    case 'ui-ready': {
      const command = RelaunchCommand.safeParse(figma.command);
      const [settings, runs] = await Promise.all([storage.settings(), storage.runs()]);
      return post({
        type: 'init',
        settings,
        runs,
        selection: describeSelection(figma.currentPage),
        command: command.success ? command.data : null,
      });
    }
    case 'save-settings':
      return storage.saveSettings(msg.settings);
    case 'save-runs':
      return storage.saveRuns(msg.runs);
    case 'export-selection': {
      const { requestId } = msg.request;
      const node = figma.currentPage.selection[0];
      if (!node) return post({ type: 'exported', requestId, result: null, error: 'select a layer first' });
      try {
        return post({
          type: 'exported',
          requestId,
          result: await exportSelection(figma, node, msg.request),
          error: null,
        });
      } catch (err) {
        return post({ type: 'exported', requestId, result: null, error: message(err) });
      }
    }
    case 'place-results':
      try {
        const nodes = await placeResults(figma, msg);
        return post({ type: 'placed', requestId: msg.requestId, nodeIds: nodes.map((n) => n.id), error: null });
      } catch (err) {
        return post({ type: 'placed', requestId: msg.requestId, nodeIds: [], error: message(err) });
      }
    case 'list-history':
      return post({ type: 'history', entries: pageHistory(figma.currentPage) });
    case 'notify':
      figma.notify(msg.message, { error: msg.error });
      return;
  }
}

figma.ui.onmessage = (raw: unknown) => {
  const parsed = UiMessage.safeParse(raw);
  if (!parsed.success)
    return console.warn('comfygate: ignored a malformed message from the UI', parsed.error.issues[0]);
  void handle(parsed.data).catch((err) => figma.notify(`comfygate: ${message(err)}`, { error: true }));
};
