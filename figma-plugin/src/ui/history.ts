import type { GatewayClient, JobSummary } from '@comfygate/shared/browser';
import type { Provenance } from '../protocol';
import { h } from './dom';

export interface HistoryDeps {
  client: () => GatewayClient | null;
  /** Places an output of the daemon as a new frame (the insert-again of both lists). */
  insert(outputId: string, provenance: Partial<Provenance> & { jobId: string }): Promise<void>;
}

const describeNode = (p: Provenance) =>
  `${p.prompt || p.template} · ${p.template}${p.seed !== null ? ` · seed ${p.seed}` : ''}`;

const describeJob = (j: JobSummary) => {
  const params = (j.metadata.params ?? {}) as Record<string, unknown>;
  const prompt =
    typeof params.prompt === 'string' && params.prompt ? params.prompt : String(j.metadata.template ?? 'graph');
  return `${prompt} · ${j.state}`;
};

/** This file's generations (from pluginData) and the daemon's recent jobs, each with Insert again. */
export function renderHistory(
  lists: { file: HTMLElement; daemon: HTMLElement },
  entries: { nodeId: string; name: string; provenance: Provenance }[],
  jobs: JobSummary[],
  deps: HistoryDeps,
): void {
  const insertButton = (label: string, run: () => Promise<void>) => {
    const b = h('button', { type: 'button', class: 'small', 'aria-label': label, text: 'Insert again' });
    b.addEventListener('click', () => void run());
    return b;
  };
  lists.file.replaceChildren(
    ...(entries.length === 0
      ? [h('li', { class: 'hint', text: 'Nothing generated in this file yet.' })]
      : entries.map((e) =>
          h(
            'li',
            {},
            h('span', { text: describeNode(e.provenance) }),
            insertButton(`Insert again: ${e.name}`, () => deps.insert(e.provenance.outputId, e.provenance)),
          ),
        )),
  );
  const done = jobs.filter((j) => j.state === 'succeeded' && j.outputs.length > 0);
  lists.daemon.replaceChildren(
    ...(done.length === 0
      ? [h('li', { class: 'hint', text: 'No finished jobs on the daemon yet.' })]
      : done.map((j) =>
          h(
            'li',
            {},
            h('span', { text: describeJob(j) }),
            insertButton(`Insert again: ${describeJob(j)}`, () =>
              deps.insert(j.outputs[0]!.id, {
                jobId: j.id,
                template: String(j.metadata.template ?? 'graph'),
                params: (j.metadata.params ?? {}) as Record<string, unknown>,
              }),
            ),
          ),
        )),
  );
}
