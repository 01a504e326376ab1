import type { GcReport, Token, WatchRuleView } from '@comfygate/shared/browser';
import { client, errorText } from '../api.js';
import { announce, field, fill, h, relTime } from '../dom.js';
import type { View } from '../main.js';

type Pending = Awaited<ReturnType<typeof client.pendingPairings>>[number];

/** Pairing requests, tokens, watched folders and retention: the page only admins see (the API enforces it too). */
export const adminView: View = (el) => {
  const pairings = h('ul', { class: 'plain' });
  const tokens = h('tbody');
  const watch = h('div');
  const gcOut = h('div', { 'aria-live': 'polite' });
  const created = h('div', { 'aria-live': 'polite' });

  const drawPairings = async () => {
    let list: Pending[];
    try {
      list = await client.pendingPairings();
    } catch (err) {
      return announce(errorText(err), 'error');
    }
    const decide = async (p: Pending, approve: boolean) => {
      try {
        if (approve) await client.confirmPairing(p.code);
        else await client.denyPairing(p.code);
        announce(approve ? `Approved ${p.name}: it receives its own token.` : `Denied ${p.name}.`);
      } catch (err) {
        announce(errorText(err), 'error');
      }
      void drawPairings();
      void drawTokens();
    };
    fill(
      pairings,
      list.length ? null : h('li', { class: 'muted' }, 'No pairing requests waiting.'),
      list.map((p) =>
        h(
          'li',
          { class: 'pairing', 'data-code': p.code },
          h(
            'div',
            null,
            h('strong', null, p.name),
            ' asks to pair with code ',
            h('code', null, p.code),
            h('br'),
            // Requests live PAIRING_TTL (5 min) from when they were asked: the age follows from the expiry.
            h(
              'small',
              null,
              `from ${p.origin ?? 'no origin (not a browser)'} · ${p.userAgent ?? 'no user agent'} ` +
                `· asked ${relTime(p.expiresAt - 5 * 60_000)}`,
            ),
          ),
          h(
            'div',
            { class: 'row' },
            h(
              'button',
              { type: 'button', onclick: () => void decide(p, true), title: `Approve ${p.name} (${p.code})` },
              'Approve',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'danger',
                onclick: () => void decide(p, false),
                title: `Deny ${p.name} (${p.code})`,
              },
              'Deny',
            ),
          ),
        ),
      ),
    );
  };

  const drawTokens = async () => {
    let list: Token[];
    try {
      list = await client.tokens();
    } catch (err) {
      return announce(errorText(err), 'error');
    }
    fill(
      tokens,
      list.map((t) =>
        h(
          'tr',
          null,
          h('td', null, t.name),
          h('td', null, t.scope),
          h('td', null, t.dailyQuota === null ? 'unlimited' : `${t.dailyQuota}/day`),
          h('td', null, relTime(t.createdAt)),
          h('td', null, t.revokedAt ? `revoked ${relTime(t.revokedAt)}` : 'active'),
          h(
            'td',
            null,
            !t.revokedAt && t.id !== 'local-admin'
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'danger',
                    onclick: async () => {
                      if (!confirm(`Revoke token ${t.name}? Anything using it stops working.`)) return;
                      try {
                        await client.revokeToken(t.id);
                        announce(`Revoked ${t.name}.`);
                      } catch (err) {
                        announce(errorText(err), 'error');
                      }
                      void drawTokens();
                    },
                  },
                  'Revoke',
                )
              : null,
          ),
        ),
      ),
    );
  };

  const drawWatch = async () => {
    let rules: WatchRuleView[];
    try {
      rules = await client.watchRules();
    } catch (err) {
      return fill(watch, h('p', { class: 'muted' }, errorText(err)));
    }
    if (!rules.length) return fill(watch, h('p', { class: 'muted' }, 'No watched folders.'));
    const files = await Promise.all(rules.map((r) => client.watchFiles(r.id, { limit: 20 }).catch(() => [])));
    fill(
      watch,
      rules.map((r, i) =>
        h(
          'details',
          { class: 'card' },
          h(
            'summary',
            null,
            `${r.rule.dir} → ${r.rule.template ?? 'template by input kind'} (${r.status})`,
            r.error ? h('span', { class: 'error' }, ` ${r.error}`) : null,
          ),
          h(
            'p',
            null,
            Object.entries(r.files)
              .map(([k, v]) => `${k}: ${v}`)
              .join(' · '),
          ),
          h(
            'ul',
            null,
            (files[i] ?? []).map((f) => h('li', null, `${f.path}: ${f.state}${f.error ? ` (${f.error})` : ''}`)),
          ),
        ),
      ),
    );
  };

  const tName = h('input', { name: 'name', required: true, maxlength: 100 });
  const tScope = h(
    'select',
    { name: 'scope' },
    ['read', 'submit', 'admin'].map((s) => h('option', { value: s, selected: s === 'submit' }, s)),
  );
  const tQuota = h('input', { name: 'quota', type: 'number', min: 1, placeholder: 'unlimited' });
  const createForm = h(
    'form',
    {
      class: 'row',
      'aria-label': 'Create a token',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const dailyQuota = tQuota.value ? Number(tQuota.value) : null;
          const t = await client.createToken({ name: tName.value, scope: tScope.value as Token['scope'], dailyQuota });
          fill(
            created,
            h(
              'p',
              { class: 'card' },
              `Token for ${t.name} (shown once, copy it now): `,
              h('code', { class: 'secret' }, t.token),
            ),
          );
          tName.value = tQuota.value = '';
        } catch (err) {
          announce(errorText(err), 'error');
        }
        void drawTokens();
      },
    },
    field('Token name', tName),
    field('Scope', tScope),
    field('Daily quota', tQuota),
    h('button', { type: 'submit' }, 'Create token'),
  );

  const settings = h('dl');
  const drawRetention = async () => {
    const ms = (v: number | null) =>
      v === null
        ? 'no limit'
        : v >= 86_400_000
          ? `${+(v / 86_400_000).toFixed(1)} days`
          : `${+(v / 60_000).toFixed(1)} min`;
    try {
      const r = await client.retention();
      fill(
        settings,
        h('dt', null, 'Keep finished jobs'),
        h('dd', null, ms(r.maxAgeMs)),
        h('dt', null, 'Disk budget'),
        h('dd', null, r.maxDiskBytes === null ? 'no limit' : `${(r.maxDiskBytes / 2 ** 30).toFixed(1)} GiB`),
        h('dt', null, 'Grace for new files'),
        h('dd', null, ms(r.graceMs)),
        h('dt', null, 'Sweep every'),
        h('dd', null, ms(r.sweepEveryMs)),
        h('dt', null, 'Webhook deliveries'),
        h(
          'dd',
          null,
          `${ms(r.webhookDeliveriesMaxAgeMs)}, ${r.webhookDeliveriesPerWebhook ?? 'any number'} per webhook`,
        ),
      );
    } catch (err) {
      fill(settings, h('dd', { class: 'error' }, errorText(err)));
    }
  };

  const gc = async () => {
    try {
      const r: GcReport = await client.gc(true);
      fill(
        gcOut,
        h(
          'p',
          null,
          `A retention pass would remove ${r.jobs} jobs, ${r.assets} files (${(r.bytes / 2 ** 20).toFixed(1)} MiB), ` +
            `${r.webhooks} webhooks and ${r.deliveries} delivery records.`,
        ),
      );
    } catch (err) {
      announce(errorText(err), 'error');
    }
  };

  fill(
    el,
    h('h1', null, 'Admin'),
    h(
      'section',
      { 'aria-label': 'Pairing requests', class: 'card' },
      h('h2', null, 'Pairing requests'),
      h('p', { class: 'muted' }, 'Approve only a request you started yourself: check the code shown by the plugin.'),
      pairings,
    ),
    h(
      'section',
      { 'aria-label': 'Tokens', class: 'card' },
      h('h2', null, 'Tokens'),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          null,
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['Name', 'Scope', 'Quota', 'Created', 'Status', ''].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          tokens,
        ),
      ),
      createForm,
      created,
    ),
    h('section', { 'aria-label': 'Watched folders', class: 'card' }, h('h2', null, 'Watched folders'), watch),
    h(
      'section',
      { 'aria-label': 'Retention', class: 'card' },
      h('h2', null, 'Retention'),
      h(
        'p',
        null,
        'Set in the config file (',
        h('code', null, 'retention'),
        '); a dry run shows what a pass would remove now.',
      ),
      settings,
      h('button', { type: 'button', onclick: () => void gc() }, 'Dry-run gc'),
      gcOut,
    ),
  );
  void drawPairings();
  void drawTokens();
  void drawWatch();
  void drawRetention();
  const timer = setInterval(() => void drawPairings(), 3000);
  return () => clearInterval(timer);
};
