/** What the run opened (database, servers, pools, child process), closed at the end or on Ctrl-C. */

const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | null = null;

/** Registers a cleanup step; the steps run in reverse order, the last opened first. */
export function atCleanup(name: string, run: () => Promise<unknown>) {
  cleanups.push({ name, run });
}

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        process.stderr.write(`[bench] cleanup "${step.name}" failed: ${String(error)}\n`);
      }
    }
  })();
  return cleaning;
}
