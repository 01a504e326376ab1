import { config } from 'zod';

// zod compiles fast parsers with `new Function` after probing for it; under this page's CSP (no 'unsafe-eval')
// the probe itself is a reported violation. The interpreted path is the same contract, just not compiled.
config({ jitless: true });
