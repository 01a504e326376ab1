import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';
import { WEBHOOK_DEFAULTS, type WebhookConfig } from './config.js';
import { WebhookDispatcher } from './dispatcher.js';
import { makeWebhookService, type WebhookService } from './service.js';

export { BackoffConfig, WEBHOOK_DEFAULTS, WebhookConfig, type WebhookConfigInput, webhookConfigOf } from './config.js';
export { backoffDelay } from './backoff.js';
export { WebhookDispatcher } from './dispatcher.js';
export { messageId, payloadOf } from './payload.js';
export { type WebhookService, toWebhookView } from './service.js';
export { generateSecret, maskSecret, sign, signedHeaders, verify } from './signing.js';

/** The subscriptions API (`register`, `list`, `get`, `deliveries`, `remove`) with the dispatcher behind it. */
export interface Webhooks extends WebhookService {
  readonly dispatcher: WebhookDispatcher;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createWebhooks(
  deps: { store: Store; log: Logger },
  config: WebhookConfig = WEBHOOK_DEFAULTS,
): Webhooks {
  const dispatcher = new WebhookDispatcher(deps, config);
  const service = makeWebhookService(deps.store, () => void dispatcher.refresh());
  return { ...service, dispatcher, start: () => dispatcher.start(), close: () => dispatcher.close() };
}
