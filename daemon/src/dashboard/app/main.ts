import './jitless.js'; // first: before any schema parses
import './styles.css';
import { LOGIN_FRAGMENT_KEY, isGatewayClientError } from '@comfygate/shared/browser';
import { type AppState, client, errorText } from './api.js';
import { announce, fill, h } from './dom.js';
import { startLive, stopLive } from './live.js';
import { signInView } from './views/signin.js';
import { queueView } from './views/queue.js';
import { generateView } from './views/generate.js';
import { resultsView } from './views/results.js';
import { backendsView } from './views/backends.js';
import { adminView } from './views/admin.js';
import { statsView } from './views/stats.js';

/** A view draws into its element and answers a cleanup for when the person navigates away. */
export type View = (el: HTMLElement, state: AppState, arg: string | undefined) => (() => void) | void;

const PAGES: { path: string; title: string; view: View; admin?: boolean }[] = [
  { path: 'queue', title: 'Queue', view: queueView },
  { path: 'generate', title: 'Generate', view: generateView },
  { path: 'results', title: 'Results', view: resultsView },
  { path: 'backends', title: 'Backends', view: backendsView },
  { path: 'admin', title: 'Admin', view: adminView, admin: true },
  { path: 'stats', title: 'Stats', view: statsView },
];

const root = document.getElementById('app')!;
let cleanup: (() => void) | void;

/** The code in `#login=<code>` is read and erased from the address bar before anything else, then exchanged once. */
async function boot(): Promise<void> {
  const m = new RegExp(`^#${LOGIN_FRAGMENT_KEY}=([A-Za-z0-9_-]+)$`).exec(location.hash);
  if (m) {
    history.replaceState(null, '', location.pathname + '#/queue');
    try {
      await client.signIn({ code: m[1]! });
    } catch (err) {
      return showSignIn(errorText(err));
    }
  }
  try {
    const me = await client.session();
    start({ me, isAdmin: me.scope === 'admin', canSubmit: me.scope !== 'read' });
  } catch (err) {
    showSignIn(isGatewayClientError(err) && err.status === 401 ? undefined : errorText(err));
  }
}

function showSignIn(message?: string): void {
  stopLive();
  cleanup?.();
  cleanup = undefined;
  window.onhashchange = null;
  fill(
    root,
    signInView(message, () => void boot()),
  );
}

function start(state: AppState): void {
  const ended = () => showSignIn('Your session ended; sign in again.');
  startLive(ended);
  // An open event stream outlives a revoked token, so the session is also checked on each page change.
  const stillSignedIn = () =>
    void client.session().catch((err: unknown) => {
      if (isGatewayClientError(err) && err.status === 401) ended();
    });
  const main = h('main', { id: 'main', tabindex: '-1' });
  const nav = h(
    'nav',
    { 'aria-label': 'Sections' },
    h(
      'ul',
      null,
      PAGES.filter((p) => !p.admin || state.isAdmin).map((p) =>
        h('li', null, h('a', { href: `#/${p.path}`, 'data-path': p.path }, p.title)),
      ),
    ),
  );
  const signOut = h(
    'button',
    {
      type: 'button',
      class: 'quiet',
      onclick: async () => {
        await client.signOut().catch(() => {});
        showSignIn('Signed out.');
      },
    },
    'Sign out',
  );
  fill(
    root,
    h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
    h(
      'header',
      { class: 'top' },
      h('span', { class: 'brand' }, 'comfygate'),
      nav,
      h('span', { class: 'who' }, `${state.me.name} · ${state.me.scope}`),
      signOut,
    ),
    h('div', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    main,
  );
  const route = () => {
    const [, path = 'queue', arg] = /^#\/([a-z]+)(?:\/(.+))?$/.exec(location.hash) ?? [];
    const page = PAGES.find((p) => p.path === path) ?? PAGES[0]!;
    cleanup?.();
    for (const a of nav.querySelectorAll('a')) {
      if (a.dataset.path === page.path) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = `${page.title} · comfygate`;
    announce(''); // a message belongs to the page it was said on
    stillSignedIn();
    main.replaceChildren();
    if (page.admin && !state.isAdmin) {
      fill(
        main,
        h('h1', null, page.title),
        h('p', null, `This page needs an admin token; you are signed in with scope '${state.me.scope}'.`),
      );
      return;
    }
    cleanup = page.view(main, state, arg ? decodeURIComponent(arg) : undefined);
  };
  window.onhashchange = route;
  route();
}

void boot();
