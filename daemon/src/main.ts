// `pnpm start [flags]` is `comfygate start [flags]` (a bare `--` from npm-style invocations is dropped).
const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
process.argv.splice(2, process.argv.length, 'start', ...args);
await import('./cli/main.js');
