import { type Job, type Preset, type PostprocessSpec, type Template, isTerminal } from '@comfygate/shared/browser';
import { client, errorText, outputUrl } from '../api.js';
import { paramsOf } from '../jobs.js';
import { announce, field, fill, h, progressBar, setProgress } from '../dom.js';
import { takeHandoff } from '../handoff.js';
import { onEvent } from '../live.js';
import type { View } from '../main.js';

type Prop = {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  description?: string;
};

/** Post-processing choices a person can make without writing ops (the API takes any spec). */
const POSTPROCESS: Record<string, { label: string; spec?: PostprocessSpec }> = {
  none: { label: 'None (original and thumb)' },
  web: {
    label: 'Web: 1024 px WebP',
    spec: {
      variants: {
        web: {
          ops: [
            { op: 'resize', width: 1024, height: 1024, fit: 'inside' },
            { op: 'format', format: 'webp' },
          ],
        },
      },
    },
  },
  square: {
    label: 'Square 512 px PNG',
    spec: { variants: { square: { ops: [{ op: 'resize', width: 512, height: 512, fit: 'cover' }] } } },
  },
};

const label = (name: string) => name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, ' ');

/** The form is drawn from the template's JSON schema, so imported templates get a form with no extra work. */
export const generateView: View = (el, state) => {
  if (!state.canSubmit) {
    fill(el, h('h1', null, 'Generate'), h('p', null, `Your scope '${state.me.scope}' can look but not generate.`));
    return;
  }
  const handoff = takeHandoff();
  let reference: { blob: Blob; name: string } | null = handoff?.reference ?? null;
  const templateSel = h('select', { name: 'template' });
  const paramsBox = h('div', { class: 'params' });
  const presetSel = h('select', { name: 'preset' }, h('option', { value: '' }, 'None'));
  const ppSel = h(
    'select',
    { name: 'postprocess' },
    Object.entries(POSTPROCESS).map(([k, v]) => h('option', { value: k }, v.label)),
  );
  const count = h('input', { type: 'number', min: 1, max: 16, value: 1, name: 'count' });
  const seedMode = h(
    'select',
    { name: 'seedMode' },
    ['random', 'fixed', 'increment'].map((m) => h('option', { value: m }, m)),
  );
  const result = h('section', { 'aria-label': 'Result', class: 'card result', hidden: true });
  const submit = h('button', { type: 'submit' }, 'Generate');
  let imageParam: string | null = null;
  let watching: (() => void) | null = null;

  const dropZone = () => {
    const input = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp', class: 'sr-only-file' });
    const preview = h('img', { alt: 'reference image', hidden: true, class: 'ref' });
    const text = h('span', null, 'Drop an image here, paste one (Ctrl+V), or choose a file.');
    const show = () => {
      if (!reference) return;
      preview.src = URL.createObjectURL(reference.blob);
      preview.hidden = false;
      text.textContent = `Reference: ${reference.name}`;
    };
    const take = (f: File | Blob | null | undefined, name = 'pasted image') => {
      if (!f || !f.type.startsWith('image/')) return announce('That is not an image.', 'error');
      reference = { blob: f, name: f instanceof File ? f.name : name };
      show();
    };
    input.addEventListener('change', () => take(input.files?.[0]));
    const zone = h(
      'div',
      {
        class: 'drop',
        'data-testid': 'dropzone',
        ondragover: (e: DragEvent) => (e.preventDefault(), zone.classList.add('over')),
        ondragleave: () => zone.classList.remove('over'),
        ondrop: (e: DragEvent) => {
          e.preventDefault();
          zone.classList.remove('over');
          take(e.dataTransfer?.files[0]);
        },
      },
      text,
      preview,
    );
    show();
    return {
      wrap: h('div', { class: 'field' }, h('label', { for: (input.id = 'ref-image') }, 'Reference image'), input, zone),
      take,
    };
  };
  let drop: ReturnType<typeof dropZone> | null = null;
  const onPaste = (e: ClipboardEvent) => {
    const item = [...(e.clipboardData?.items ?? [])].find((i) => i.type.startsWith('image/'));
    if (item && drop) (e.preventDefault(), drop.take(item.getAsFile()));
  };
  document.addEventListener('paste', onPaste);

  const drawParams = async (name: string) => {
    const schema = (await client.templateSchema(name)) as { properties?: Record<string, Prop>; required?: string[] };
    const given = handoff?.template === name ? (handoff.params ?? {}) : {};
    imageParam = null;
    drop = null;
    const controls: HTMLElement[] = [];
    for (const [key, p] of Object.entries(schema.properties ?? {})) {
      const value = given[key] ?? p.default;
      if (/asset id/i.test(p.description ?? '') || key === 'image') {
        if (imageParam) continue; // one reference image per form; masks and second images go through the API
        imageParam = key;
        drop = dropZone();
        controls.push(drop.wrap);
        continue;
      }
      let control: HTMLElement;
      if (p.enum)
        control = h(
          'select',
          { name: key },
          p.enum.map((o) => h('option', { value: String(o), selected: o === value }, String(o))),
        );
      else if (p.type === 'integer' || p.type === 'number') {
        control = h('input', {
          type: 'number',
          name: key,
          step: p.type === 'integer' ? 1 : 'any',
          min: p.minimum,
          max: p.maximum,
          value: value === undefined ? undefined : String(value),
          placeholder: key === 'seed' ? 'random' : undefined,
        });
      } else if (p.type === 'boolean') control = h('input', { type: 'checkbox', name: key, checked: value === true });
      else if (key === 'prompt' || key === 'negative') {
        control = h('textarea', { name: key, rows: key === 'prompt' ? 3 : 2 }, typeof value === 'string' ? value : '');
      } else control = h('input', { type: 'text', name: key, value: value === undefined ? undefined : String(value) });
      const hint =
        key === 'seed'
          ? 'Leave empty for a random seed.'
          : key === 'negative'
            ? 'What the image should not show.'
            : undefined;
      controls.push(field(label(key), control, hint));
    }
    // Sampler settings are many; the prompt and image stay in sight, the rest fold away.
    const main = controls.filter((c) =>
      /^(Prompt|Negative|Reference image)$/.test(c.querySelector('label')?.textContent ?? ''),
    );
    const rest = controls.filter((c) => !main.includes(c));
    fill(paramsBox, main, rest.length ? h('details', null, h('summary', null, 'More settings'), rest) : null);
  };

  const values = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const c of paramsBox.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('[name]')) {
      if (c instanceof HTMLInputElement && c.type === 'checkbox') out[c.name] = c.checked;
      else if (c instanceof HTMLInputElement && c.type === 'number') {
        if (c.value !== '') out[c.name] = Number(c.value);
      } else out[c.name] = c.value;
    }
    return out;
  };

  const follow = (jobIds: string[], batchId: string | null) => {
    watching?.();
    result.hidden = false;
    const bars = new Map(jobIds.map((id) => [id, progressBar(0, 'Generation progress')]));
    const states = new Map(jobIds.map((id) => [id, h('span', { class: 'state' }, 'queued')]));
    fill(
      result,
      h('h2', null, batchId ? `Batch of ${jobIds.length}` : 'Generating'),
      h(
        'ul',
        { class: 'plain' },
        jobIds.map((id) => h('li', null, states.get(id), ' ', bars.get(id))),
      ),
    );
    const done = new Set<string>();
    const settle = (j: Job) => {
      // The stream and the first read may both report the end: settle each job once.
      if (done.has(j.id)) return;
      states.get(j.id)!.textContent = j.state;
      if (j.state === 'succeeded') setProgress(bars.get(j.id)!, 100);
      if (!isTerminal(j.state)) return;
      done.add(j.id);
      if (done.size < jobIds.length) return;
      announce(batchId ? 'Batch finished.' : `Job ${j.state}.`);
      // "The result opens when done", here in place, so the form stays filled in for the next try.
      if (!batchId && j.state === 'succeeded' && j.outputs[0]) {
        const o = j.outputs[0];
        result.append(
          h(
            'figure',
            null,
            h(
              'a',
              { href: `#/results/${j.id}` },
              h('img', { src: outputUrl(o.id), alt: String(paramsOf(j).prompt ?? 'result'), class: 'big' }),
            ),
            h('figcaption', null, h('a', { href: `#/results/${j.id}` }, 'Open details')),
          ),
        );
        result.querySelector<HTMLAnchorElement>('figcaption a')?.focus();
      } else if (batchId) result.append(h('p', null, h('a', { href: '#/queue' }, 'See the batch in the queue')));
      else if (j.state === 'failed') result.append(h('p', { class: 'error' }, j.error?.message ?? 'failed'));
    };
    watching = onEvent((e) => {
      if (!('jobId' in e) || !e.jobId || !bars.has(e.jobId)) return;
      if (e.type === 'job:progress') {
        if (e.progress.max > 0) setProgress(bars.get(e.jobId)!, (100 * e.progress.value) / e.progress.max);
        states.get(e.jobId)!.textContent = 'running';
      } else void client.getJob(e.jobId).then(settle, () => {});
    });
    // Anything that finished before the stream saw it.
    for (const id of jobIds) void client.getJob(id).then(settle, () => {});
  };

  const form = h(
    'form',
    {
      class: 'card generate',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        try {
          const params = values();
          if (params.seed === undefined) delete params.seed;
          if (imageParam) {
            if (!reference) throw new Error('This template needs a reference image: drop, paste or choose one.');
            announce('Uploading the reference image…');
            params[imageParam] = (await client.uploadAsset(reference.blob, reference.blob.type || 'image/png')).sha256;
          }
          const job = {
            template: templateSel.value,
            params,
            ...(presetSel.value ? { preset: presetSel.value } : {}),
            ...(POSTPROCESS[ppSel.value]?.spec ? { postprocess: POSTPROCESS[ppSel.value]!.spec } : {}),
          };
          const n = Math.max(1, Math.min(16, Number(count.value) || 1));
          if (n === 1 && seedMode.value === 'random') {
            const created = await client.createJob(job);
            announce('Queued.');
            follow([created.id], null);
          } else {
            const name = `${templateSel.value}: ${String(params.prompt ?? '').slice(0, 40)}`;
            const b = await client.createBatch({
              name,
              variations: { job, count: n, seed: seedMode.value as 'random' },
            });
            announce(`Batch of ${b.total} queued.`);
            follow(b.jobIds, b.id);
          }
        } catch (err) {
          announce(errorText(err), 'error');
        } finally {
          submit.disabled = false;
        }
      },
    },
    field('Template', templateSel),
    paramsBox,
    h(
      'div',
      { class: 'row' },
      field('Count', count),
      field('Seed mode', seedMode),
      field('Style preset', presetSel),
      field('Post-processing', ppSel),
    ),
    submit,
  );
  templateSel.addEventListener(
    'change',
    () => void drawParams(templateSel.value).catch((err) => announce(errorText(err), 'error')),
  );

  fill(el, h('h1', null, 'Generate'), form, result);
  void (async () => {
    try {
      const [templates, presets] = await Promise.all([client.templates(), client.presets().catch((): Preset[] => [])]);
      const want = handoff?.template ?? (handoff?.reference ? 'img2img' : 'txt2img');
      fill(
        templateSel,
        templates.map((t: Template) => h('option', { value: t.name, selected: t.name === want }, t.name)),
      );
      for (const p of presets) presetSel.append(h('option', { value: p.name }, p.name));
      await drawParams(templateSel.value);
    } catch (err) {
      announce(errorText(err), 'error');
    }
  })();
  return () => {
    watching?.();
    document.removeEventListener('paste', onPaste);
  };
};
