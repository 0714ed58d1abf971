// `npm run verify-audit`: recomputes every audit hash chain of the configured database, checks it
// against the signed checkpoints, and names the first broken event of each broken chain
// (docs/operations.md, "Audit verification"; docs/audit.md, "Signed checkpoints").
//   --export-checkpoints <file>  also writes every stored checkpoint to <file> as NDJSON (keep it
//                                outside the database: it is what finds a tail cut together with
//                                the checkpoint rows)
//   --checkpoints <file>         also checks the chains against the checkpoints in <file> (an
//                                export, or the worker's log lines); may be given more than once
// Exit status: 0 every chain intact, 1 a chain is broken, 2 verification could not run,
// 78 invalid configuration (as the server).
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadCheckpointKeys, parseCheckpoints, storedCheckpoints, type Checkpoint, type CheckpointKeys } from '../kernel/audit/checkpoints.ts';
import { verifyAuditChains, type ChainBreak, type VerificationReport } from '../kernel/audit/verify.ts';
import { PLATFORM_CHAIN } from '../kernel/audit/audit.ts';
import { ConfigError, loadConfig } from '../kernel/config.ts';
import type { Database } from '../kernel/db/database.ts';
import { openDatabase } from '../start.ts';

/** What stands for the event of a break that names none. */
const NO_EVENT: Partial<Record<ChainBreak['reason'], string>> = {
  'head-mismatch': '(none: the chain head does not match the last event)',
  'tail-cut': '(none: a signed checkpoint names events from here on that are gone)',
  'checkpoint-forged': '(none: the checkpoint names no stored event)',
};

/** The human summary: totals, then one line per broken chain. */
function formatReport(report: VerificationReport, chainNames: Map<string, string> = new Map()): string {
  const lines = [`Audit chains: ${report.chains}, events: ${report.events}, checkpoints: ${report.checkpoints}`];
  if (report.ok) {
    lines.push('OK: every chain is intact.');
  } else {
    lines.push(`BROKEN: ${report.breaks.length} of ${report.chains} chains`);
    for (const broken of report.breaks) {
      const name = chainNames.get(broken.chainId);
      lines.push(`  chain ${broken.chainId}${name ? ` (${name})` : ''}: seq ${broken.seq}, event ${broken.eventId ?? NO_EVENT[broken.reason] ?? '(none)'}, reason ${broken.reason}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Names the chains (the platform chain, tenant slugs) for the summary. */
async function chainNames(db: Database): Promise<Map<string, string>> {
  const tenants = await db.owner.selectFrom('tenants').select(['id', 'slug']).execute();
  return new Map([[PLATFORM_CHAIN, 'platform'], ...tenants.map((t): [string, string] => [t.id, `tenant ${t.slug}`])]);
}

/** Writes the stored checkpoints to a file, one JSON object a line; returns how many. */
async function exportCheckpoints(db: Database, file: string): Promise<number> {
  const out = await fs.open(file, 'w');
  let count = 0;
  try {
    let lines: string[] = [];
    for await (const checkpoint of storedCheckpoints(db)) {
      lines.push(`${JSON.stringify(checkpoint)}\n`);
      count += 1;
      if (lines.length === 1000) {
        await out.write(lines.join(''));
        lines = [];
      }
    }
    await out.write(lines.join(''));
  } finally {
    await out.close();
  }
  return count;
}

async function readCheckpointFiles(files: string[]): Promise<Checkpoint[]> {
  const checkpoints: Checkpoint[] = [];
  for (const file of files) {
    const found = parseCheckpoints(await fs.readFile(file, 'utf8'));
    // A file without any is the wrong file, not evidence that nothing was signed.
    if (found.length === 0) throw new Error(`${file} holds no audit checkpoint`);
    checkpoints.push(...found);
  }
  return checkpoints;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { 'export-checkpoints': { type: 'string' }, checkpoints: { type: 'string', multiple: true } }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nUsage: npm run verify-audit -- [--export-checkpoints <file>] [--checkpoints <file> ...]\n`);
    return 2;
  }
  let config;
  let keys: CheckpointKeys;
  try {
    config = loadConfig();
    keys = await loadCheckpointKeys(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 78;
    }
    process.stderr.write(`Audit verification could not run: ${(error as Error).message}\n`);
    return 2;
  }
  let db: Database | undefined;
  try {
    const external = await readCheckpointFiles(args.checkpoints ?? []);
    db = await openDatabase(config);
    const exportTo = args['export-checkpoints'];
    if (exportTo) process.stdout.write(`Exported ${await exportCheckpoints(db, exportTo)} checkpoints to ${exportTo}\n`);
    if (external.length > 0) process.stdout.write(`Checking ${external.length} checkpoints from ${args.checkpoints!.join(', ')}\n`);
    const report = await verifyAuditChains(db, { keys, external });
    // Without a key every checkpoint reads as forged: say why beside the breaks.
    if (keys.keyIds.length === 0 && report.checkpoints > 0) {
      process.stderr.write('No audit checkpoint key is configured (AUDIT_CHECKPOINT_PUBLIC_KEY): checkpoints cannot be verified and are reported as checkpoint-forged\n');
    }
    process.stdout.write(formatReport(report, report.ok ? undefined : await chainNames(db)));
    return report.ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`Audit verification could not run: ${(error as Error).message}\n`);
    return 2;
  } finally {
    await db?.close().catch(() => undefined);
  }
}

process.exitCode = await main();
