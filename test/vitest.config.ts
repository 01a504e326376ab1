import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['fake-comfyui/**/*.test.ts', 'e2e/**/*.test.ts', 'regression/**/*.test.ts', 'figma/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: keep files in a small pool so timing-sensitive protocol tests are not starved.
    maxWorkers: 2,
  },
});
