import { run } from './main.ts';

await run({ api: false, worker: true });
