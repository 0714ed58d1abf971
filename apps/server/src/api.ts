import { run } from './main.ts';

await run({ api: true, worker: false });
