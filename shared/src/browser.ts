/**
 * The browser-safe entry (`@comfygate/shared/browser`): the same wire contract and GatewayClient, checked by
 * `tsconfig.browser.json` against DOM types only, so the Figma UI, the dashboard and webviews never pull Node
 * types or built-ins into their bundles. Everything in `shared` is written to run there; this entry proves it.
 */
export * from './index.js';
