// `npm run verify-audit`: recomputes every audit hash chain of the configured database and names the
// first broken event of each broken chain (docs/operations.md, "Audit verification").
// Exit status: 0 every chain intact, 1 a chain is broken, 2 verification could not run,
// 78 invalid configuration (as the server).
import { verifyAuditChains, type VerificationReport } from '../kernel/audit/verify.ts';
import { PLATFORM_CHAIN } from '../kernel/audit/audit.ts';
import { ConfigError, loadConfig } from '../kernel/config.ts';
import type { Database } from '../kernel/db/database.ts';
import { openDatabase } from '../start.ts';

/** The human summary: totals, then one line per broken chain. */
function formatReport(report: VerificationReport, chainNames: Map<string, string> = new Map()): string {
  const lines = [`Audit chains: ${report.chains}, events: ${report.events}`];
  if (report.ok) {
    lines.push('OK: every chain is intact.');
  } else {
    lines.push(`BROKEN: ${report.breaks.length} of ${report.chains} chains`);
    for (const broken of report.breaks) {
      const name = chainNames.get(broken.chainId);
      lines.push(
        `  chain ${broken.chainId}${name ? ` (${name})` : ''}: seq ${broken.seq}, event ${broken.eventId ?? '(none: the chain head does not match the last event)'}, reason ${broken.reason}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Names the chains (the platform chain, tenant slugs) for the summary. */
async function chainNames(db: Database): Promise<Map<string, string>> {
  const tenants = await db.owner.selectFrom('tenants').select(['id', 'slug']).execute();
  return new Map([[PLATFORM_CHAIN, 'platform'], ...tenants.map((t): [string, string] => [t.id, `tenant ${t.slug}`])]);
}

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 78;
    }
    throw error;
  }
  let db: Database | undefined;
  try {
    db = await openDatabase(config);
    const report = await verifyAuditChains(db);
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
