import { ensureDashboardBuilt } from './dashboard.js';

/** vitest globalSetup: one build before any test file runs (files run in parallel workers). */
export default async function setup(): Promise<void> {
  await ensureDashboardBuilt();
}
