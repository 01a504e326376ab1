/**
 * The plugin's UI (an iframe with origin `null`): connection, the generate panel, progress and history. It does
 * every network call with GatewayClient; the document and clientStorage are the sandbox's, reached by messages.
 */
import { isGatewayClientError, type Preset, type Template } from '@comfygate/shared/browser';
import { Action, type PendingRun, type RelaunchCommand, type SelectedNode, type Settings } from '../protocol';
import { sizePresets } from '../sizes';
import { ACTION_FIELDS, ACTION_LABEL, buildJobs, type FormValues, needsImage, POSTPROCESS } from './actions';
import { sandboxBridge } from './bridge';
import { Connection, type ConnState, START_COMMAND } from './connection';
import { $, h, show } from './dom';
import { schemaFields } from './form';
import { renderHistory } from './history';
import { invertAlpha } from './images';
import { Runs } from './runs';
import { ensureAsset } from './uploads';

const bridge = sandboxBridge();
let settings: Settings = { daemonUrl: 'http://127.0.0.1:8288', token: null };
let selection: SelectedNode[] = [];
let templates: Template[] = [];
let knownParams: Set<string> | null = null;
let readExtra: () => Record<string, unknown> = () => ({});
let activeRun: string | null = null;
let pendingCommand: RelaunchCommand | null = null;

const ui = {
  status: $('status'),
  url: $<HTMLInputElement>('daemon-url'),
  connect: $<HTMLButtonElement>('connect'),
  detail: $('conn-detail'),
  selectionInfo: $('selection-info'),
  action: $<HTMLSelectElement>('action'),
  template: $<HTMLSelectElement>('template'),
  prompt: $<HTMLTextAreaElement>('prompt'),
  negative: $<HTMLTextAreaElement>('negative'),
  size: $<HTMLSelectElement>('size'),
  width: $<HTMLInputElement>('width'),
  height: $<HTMLInputElement>('height'),
  count: $<HTMLInputElement>('count'),
  seed: $<HTMLInputElement>('seed'),
  strength: $<HTMLInputElement>('strength'),
  preset: $<HTMLSelectElement>('preset'),
  postprocess: $<HTMLSelectElement>('postprocess'),
  advanced: $('advanced'),
  generate: $<HTMLButtonElement>('generate'),
  progress: $('progress'),
  bar: $<HTMLProgressElement>('progress-bar'),
  progressText: $('progress-text'),
  preview: $<HTMLImageElement>('preview'),
  cancel: $<HTMLButtonElement>('cancel'),
  error: $('error'),
  tabGenerate: $<HTMLButtonElement>('tab-generate'),
  tabHistory: $<HTMLButtonElement>('tab-history'),
  finished: $('finished'),
  panelGenerate: $('panel-generate'),
  panelHistory: $('panel-history'),
  historyFile: $('history-file'),
  historyDaemon: $('history-daemon'),
};

const fail = (err: unknown) =>
  void (ui.error.textContent = isGatewayClientError(err) || err instanceof Error ? err.message : String(err));
const clearError = () => void (ui.error.textContent = '');

// ---- connection -------------------------------------------------------------------------------------------------

const conn = new Connection({
  saveToken(url, token) {
    settings = { daemonUrl: url, token };
    bridge.send({ type: 'save-settings', settings });
  },
  onState: renderConnection,
});

function renderConnection(s: ConnState): void {
  const connected = s.kind === 'connected';
  ui.generate.disabled = !connected || activeRun !== null;
  switch (s.kind) {
    case 'idle':
      ui.status.textContent = 'Not connected';
      return ui.detail.replaceChildren();
    case 'checking':
      ui.status.textContent = 'Connecting…';
      return ui.detail.replaceChildren();
    case 'not-running':
      ui.status.textContent = 'Daemon not running';
      return ui.detail.replaceChildren(
        h(
          'p',
          {},
          `Nothing answers at ${s.url}. Start comfygate with `,
          h('code', { text: START_COMMAND }),
          ', then press Connect.',
        ),
      );
    case 'pairing':
      ui.status.textContent = 'Pairing';
      return ui.detail.replaceChildren(
        h('p', { text: 'Pairing code', class: 'hint' }),
        h('p', { class: 'code', id: 'pairing-code', 'aria-label': `Pairing code ${s.code}`, text: s.code }),
        h(
          'p',
          {},
          'Confirm it in a terminal with ',
          h('code', { text: `comfygate pair ${s.code}` }),
          ' or in the dashboard’s pairing requests.',
        ),
      );
    case 'connected':
      ui.status.textContent = `Connected · ${s.backendsUp}/${s.backends} backends up · ${s.queued} queued · ${s.running} running`;
      if (ui.detail.childElementCount > 0) ui.detail.replaceChildren();
      return onConnected();
    case 'revoked':
      ui.status.textContent = 'Token revoked';
      return ui.detail.replaceChildren(
        h('p', {
          text: 'The daemon no longer accepts this plugin’s token (it was revoked). Press Connect to pair again.',
        }),
      );
    case 'error':
      ui.status.textContent = 'Not connected';
      return ui.detail.replaceChildren(h('p', { text: s.message }));
  }
}

let loadedFor: string | null = null;
/** First time connected to a daemon: templates and presets for the form, then runs saved from a previous session. */
function onConnected(): void {
  const client = conn.client!;
  if (loadedFor === client.baseUrl) return;
  loadedFor = client.baseUrl;
  void (async () => {
    try {
      const [list, presets] = await Promise.all([client.templates(), client.presets().catch((): Preset[] => [])]);
      templates = [...list].sort((a, b) => Number(b.builtin) - Number(a.builtin) || a.name.localeCompare(b.name));
      const option = (t: Template) =>
        h('option', { value: t.name, text: t.builtin ? t.name : `${t.name} (yours)`, selected: t.name === 'txt2img' });
      ui.template.replaceChildren(...templates.map(option));
      ui.preset.replaceChildren(
        h('option', { value: '', text: 'None' }),
        ...presets.map((p) => h('option', { value: p.name, text: p.name })),
      );
      await loadSchema();
      await runs.resume(savedRuns.filter((r) => r.daemonUrl === client.baseUrl));
      if (pendingCommand) void relaunch(pendingCommand);
    } catch (err) {
      fail(err);
    }
  })();
}

async function loadSchema(): Promise<void> {
  const client = conn.client;
  if (!client || !ui.template.value) return;
  const schema = await client.templateSchema(ui.template.value);
  knownParams = new Set(Object.keys((schema.properties ?? {}) as object));
  readExtra = schemaFields(ui.advanced, schema);
}

ui.connect.addEventListener('click', () => {
  clearError();
  const url = ui.url.value.trim();
  const token = url.replace(/\/+$/, '') === settings.daemonUrl.replace(/\/+$/, '') ? settings.token : null;
  if (url !== settings.daemonUrl)
    bridge.send({ type: 'save-settings', settings: (settings = { daemonUrl: url, token }) });
  loadedFor = null;
  void conn.connect(url, token);
});

// ---- the generate panel ---------------------------------------------------------------------------------------------

ui.action.replaceChildren(...Action.options.map((a) => h('option', { value: a, text: ACTION_LABEL[a] })));
ui.postprocess.replaceChildren(
  ...Object.entries(POSTPROCESS).map(([k, v]) => h('option', { value: k, text: v?.label ?? 'None' })),
);

function renderAction(): void {
  const fields = ACTION_FIELDS[ui.action.value as Action];
  for (const el of document.querySelectorAll<HTMLElement>('[data-field]')) show(el, fields.includes(el.dataset.field!));
}
ui.action.addEventListener('change', renderAction);
ui.template.addEventListener('change', () => void loadSchema().catch(fail));

function renderSelection(): void {
  const sel = selection[0] ?? null;
  ui.selectionInfo.textContent = sel
    ? `Selected: ${sel.name} (${sel.width}×${sel.height})${sel.hasMask ? ' · has a mask layer' : ''}${sel.provenance ? ' · generated' : ''}`
    : 'Nothing selected: results go in new frames.';
  const keep = ui.size.selectedIndex;
  const presets = sizePresets(sel && sel.width > 0 ? sel : null);
  const selected = Math.min(Math.max(0, keep), presets.length - 1);
  ui.size.replaceChildren(
    ...presets.map((p, i) => h('option', { value: `${p.width}x${p.height}`, text: p.label, selected: i === selected })),
  );
  applySize();
}
function applySize(): void {
  const [w, hgt] = ui.size.value.split('x').map(Number);
  if (w && hgt) ((ui.width.value = String(w)), (ui.height.value = String(hgt)));
}
ui.size.addEventListener('change', applySize);

function formValues(): FormValues {
  return {
    action: ui.action.value as Action,
    template: ui.template.value || 'txt2img',
    prompt: ui.prompt.value,
    negative: ui.negative.value,
    width: Number(ui.width.value),
    height: Number(ui.height.value),
    count: Number(ui.count.value) || 1,
    seed: ui.seed.value,
    strength: Number(ui.strength.value),
    preset: ui.preset.value,
    postprocess: ui.postprocess.value,
    extra: readExtra(),
  };
}

/** Export (and upload once) what the gesture needs from the selection. */
async function selectionAssets(action: Action, sel: SelectedNode | null, maxSide: number) {
  if (!needsImage(action, sel)) return {};
  if (!sel) throw new Error(`${ACTION_LABEL[action]} works on the selection: select a frame or layer first.`);
  const client = conn.client!;
  const reply = await bridge.request('exported', (requestId) => ({
    type: 'export-selection',
    request: { requestId, maxSide, source: action === 'expand' ? 'fill' : 'render', withMask: action === 'inpaint' },
  }));
  if (!reply.result) throw new Error(reply.error ?? 'could not export the selection');
  const image = (await ensureAsset(client, reply.result.image)).sha256;
  if (action !== 'inpaint') return { image, imageSize: { width: reply.result.width, height: reply.result.height } };
  if (!reply.result.mask)
    throw new Error('Inpaint needs a layer named “mask” inside the selected frame, drawn over the area to change.');
  return { image, mask: (await ensureAsset(client, await invertAlpha(reply.result.mask))).sha256 };
}

async function submit(v: FormValues, jobs: ReturnType<typeof buildJobs>, sel: SelectedNode | null): Promise<void> {
  const client = conn.client!;
  const ids: string[] = [];
  try {
    for (const j of jobs) ids.push((await client.createJob(j)).id);
  } catch (err) {
    await Promise.all(ids.map((id) => client.cancelJob(id).catch(() => null)));
    throw err;
  }
  const run: PendingRun = {
    id: `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    action: v.action,
    template: jobs[0]!.template ?? v.template,
    prompt: v.prompt,
    jobIds: ids,
    targetId: sel && (sel.fillable || v.action === 'variations') ? sel.id : null,
    daemonUrl: client.baseUrl,
    createdAt: Date.now(),
  };
  startProgress(run);
  runs.add(run);
}

async function generate(): Promise<void> {
  clearError();
  const v = formValues();
  const sel = selection[0] ?? null;
  // Variations of a generated node are of its prompt, whatever the form holds now.
  if (v.action === 'variations' && sel?.provenance) v.prompt = sel.provenance.prompt;
  if (!/^\d*$/.test(v.seed.trim())) throw new Error('Seed is a whole number, or empty for a random one.');
  ui.generate.disabled = true;
  try {
    const maxSide = v.action === 'upscale' || v.action === 'remove-background' || v.action === 'expand' ? 2048 : 1024;
    const assets = await selectionAssets(v.action, sel, maxSide);
    await submit(v, buildJobs(v, sel, assets, knownParams), sel);
  } finally {
    ui.generate.disabled = conn.state.kind !== 'connected' || activeRun !== null;
  }
}
ui.generate.addEventListener('click', () => void generate().catch(fail));

/** A relaunch button on a generated node: Vary, Regenerate, Upscale or Remove background, run at once. */
async function relaunch(command: RelaunchCommand): Promise<void> {
  pendingCommand = null;
  const sel = selection[0] ?? null;
  if (!sel?.provenance) return fail(new Error('Select a layer comfygate generated to use this button.'));
  if (command === 'regenerate') {
    const v = { ...formValues(), action: 'generate' as const, prompt: sel.provenance.prompt };
    return submit(
      v,
      [{ template: sel.provenance.template, params: sel.provenance.params, client: 'figma' }],
      sel,
    ).catch(fail);
  }
  ui.action.value = command === 'vary' ? 'variations' : command;
  if (command === 'vary') ui.count.value = '4';
  renderAction();
  await generate().catch(fail);
}

// ---- progress -------------------------------------------------------------------------------------------------------

function startProgress(run: PendingRun): void {
  activeRun = run.id;
  ui.generate.disabled = true;
  show(ui.progress, true);
  show(ui.preview, false);
  ui.bar.value = 0;
  ui.progressText.textContent = `${ACTION_LABEL[run.action]}: queued`;
}

const runs = new Runs({
  client: () => conn.client,
  bridge,
  onUnauthorized: () => conn.revoked(),
  view: {
    progress(run, p) {
      if (activeRun === null) startProgress(run);
      if (activeRun !== run.id) return;
      ui.bar.value = p.max > 0 ? p.value / p.max : 0;
      ui.progressText.textContent = `${ACTION_LABEL[run.action]}: ${p.state} · ${p.done}/${p.total} done`;
    },
    preview(run, url) {
      if (activeRun !== run.id) return URL.revokeObjectURL(url);
      if (ui.preview.src.startsWith('blob:')) URL.revokeObjectURL(ui.preview.src);
      ui.preview.src = url;
      show(ui.preview, true);
    },
    offer(run, place) {
      const label = run.prompt.trim() ? `“${run.prompt.trim().slice(0, 40)}”` : ACTION_LABEL[run.action];
      const item = h('li', {}, h('span', { text: `${label} finished while the plugin was closed` }));
      const placeBtn = h('button', {
        type: 'button',
        class: 'small',
        text: 'Place results',
        'aria-label': `Place results: ${label}`,
      });
      const dismissBtn = h('button', {
        type: 'button',
        class: 'small',
        text: 'Dismiss',
        'aria-label': `Dismiss: ${label}`,
      });
      placeBtn.addEventListener('click', () => {
        item.remove();
        void place().catch(fail);
      });
      dismissBtn.addEventListener('click', () => (item.remove(), runs.dismiss(run.id)));
      item.append(placeBtn, dismissBtn);
      ui.finished.append(item);
    },
    finished(run, outcome) {
      if (outcome.errors.length > 0) ui.error.textContent = outcome.errors.join('\n');
      const what = outcome.canceled ? 'Canceled' : `Placed ${outcome.placed} image${outcome.placed === 1 ? '' : 's'}`;
      bridge.send({ type: 'notify', message: `comfygate: ${what}`, error: outcome.errors.length > 0 });
      if (activeRun !== run.id) return;
      activeRun = null;
      ui.progressText.textContent = what;
      show(ui.progress, false);
      ui.generate.disabled = conn.state.kind !== 'connected';
      const next = runs.following()[0];
      if (next) startProgress(next);
    },
  },
});

ui.cancel.addEventListener('click', () => {
  if (activeRun) void runs.cancel(activeRun).catch(fail);
});

// ---- history ----------------------------------------------------------------------------------------------------------

async function insertAgain(outputId: string, p: { jobId: string; template?: string }): Promise<void> {
  const client = conn.client;
  if (!client) throw new Error('Connect to the daemon first.');
  const job = await client.getJob(p.jobId);
  const out = job.outputs.find((o) => o.id === outputId) ?? job.outputs[0];
  if (!out) throw new Error('that job has no output any more');
  const bytes = new Uint8Array(await (await client.output(out.id)).arrayBuffer());
  const params = (job.metadata.params ?? {}) as Record<string, unknown>;
  const prompt = typeof params.prompt === 'string' ? params.prompt : '';
  const provenance = {
    jobId: job.id,
    outputId: out.id,
    template: String(job.metadata.template ?? p.template ?? 'graph'),
    action: 'generate' as const,
    params,
    prompt,
    seed: typeof params.seed === 'number' || typeof params.seed === 'string' ? params.seed : null,
    daemonUrl: client.baseUrl,
    width: out.width ?? 1,
    height: out.height ?? 1,
    createdAt: Date.now(),
  };
  const reply = await bridge.request('placed', (requestId) => ({
    type: 'place-results',
    requestId,
    targetId: null,
    mode: 'frames',
    name: prompt.slice(0, 60) || provenance.template,
    images: [{ bytes, width: out.width ?? 1, height: out.height ?? 1, provenance }],
  }));
  if (reply.error) throw new Error(reply.error);
}

async function showHistory(): Promise<void> {
  const client = conn.client;
  const jobs = client ? ((await client.listJobs({ limit: 20 }).catch(() => null))?.jobs ?? []) : [];
  const off = bridge.on((m) => {
    if (m.type !== 'history') return;
    off();
    const deps = {
      client: () => conn.client,
      insert: (o: string, p: { jobId: string; template?: string }) => insertAgain(o, p).catch(fail),
    };
    renderHistory({ file: ui.historyFile, daemon: ui.historyDaemon }, m.entries, jobs, deps);
  });
  bridge.send({ type: 'list-history' });
}

function selectTab(history: boolean): void {
  ui.tabGenerate.setAttribute('aria-selected', String(!history));
  ui.tabHistory.setAttribute('aria-selected', String(history));
  ui.tabGenerate.tabIndex = history ? -1 : 0;
  ui.tabHistory.tabIndex = history ? 0 : -1;
  show(ui.panelGenerate, !history);
  show(ui.panelHistory, history);
  if (history) void showHistory().catch(fail);
}
ui.tabGenerate.addEventListener('click', () => selectTab(false));
ui.tabHistory.addEventListener('click', () => selectTab(true));

// ---- sandbox ----------------------------------------------------------------------------------------------------------

let savedRuns: PendingRun[] = [];
bridge.on((m) => {
  if (m.type === 'init') {
    settings = m.settings;
    savedRuns = m.runs;
    selection = m.selection;
    pendingCommand = m.command;
    ui.url.value = settings.daemonUrl;
    renderSelection();
    // With a token, reconnect at once; a first use waits for the user to accept (or change) the URL and press Connect.
    if (settings.token) void conn.connect(settings.daemonUrl, settings.token);
    else
      ui.detail.replaceChildren(
        h('p', { class: 'hint', text: 'Check the daemon URL and press Connect to pair this plugin with comfygate.' }),
      );
  } else if (m.type === 'selection') {
    selection = m.selection;
    renderSelection();
  }
});

renderAction();
renderSelection();
bridge.send({ type: 'ui-ready' });
