import { client, errorText } from '../api.js';
import { field, h } from '../dom.js';

/** Pasting a token is the fallback to a printed link: it is sent once, by POST, and only the session stays. */
export function signInView(message: string | undefined, onSignedIn: () => void): HTMLElement {
  const token = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
  const error = h('p', { class: 'error', role: 'alert' }, message ?? '');
  const form = h(
    'form',
    {
      class: 'card signin',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          await client.signIn({ token: token.value.trim() });
          token.value = '';
          onSignedIn();
        } catch (err) {
          error.textContent = errorText(err);
        }
      },
    },
    h('h1', null, 'Sign in to comfygate'),
    h('p', null, 'Open the link that ', h('code', null, 'comfygate dashboard'), ' prints, or paste a token.'),
    field('Token', token, 'Any comfygate token; the dashboard then acts with its scope.'),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  return h('main', { id: 'main', class: 'center' }, form);
}
