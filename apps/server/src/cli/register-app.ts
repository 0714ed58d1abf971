// `npm run app:register -- --name X --environment production --owner a@b.c [--scopes flags:read,billing:write]
// [--tenant <id>]... [--expires-at <ISO date>] [--json]`: registers a managed application through the
// same service as `POST /v1/platform/apps` (as a system actor, audited in the platform chain),
// issues its first key and prints the application id and the key's secret, once.
// Exit status: 0 registered, 64 bad arguments, 78 invalid configuration, 2 the registration failed.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Compile } from 'typebox/compile';
import { APP_SCOPES } from '../kernel/auth/permissions.ts';
import { ConfigError, loadConfig } from '../kernel/config.ts';
import type { RequestContext } from '../kernel/context.ts';
import type { Database } from '../kernel/db/database.ts';
import { AppError } from '../kernel/errors.ts';
import { createLogger } from '../kernel/log.ts';
import { IssueKeyBody, RegisterApplicationBody, type IssueKeyInput, type RegisterApplicationInput } from '../modules/apps/index.ts';
import { AppKeyVerifier, createAppsService } from '../modules/apps/index.ts';
import { tenantDirectory } from '../modules/tenancy/index.ts';
import { openDatabase } from '../start.ts';

const USAGE = `Usage: npm run app:register -- --name <name> --environment development|staging|production --owner <email>
         [--scopes flags:read,billing:write,audit:write] (default flags:read)
         [--tenant <tenant id>]... (default: every tenant) [--expires-at <ISO date>] [--json]`;

class UsageError extends Error {}

/** The command-line option an error's path (in the API's body) comes from. */
function optionOf(instancePath: string): string {
  const field = instancePath.split('/')[1];
  if (!field) return 'arguments:';
  return `--${{ tenant_ids: 'tenant', expires_at: 'expires-at' }[field] ?? field}:`;
}

function allowedFor(instancePath: string): string {
  return (instancePath.startsWith('/scopes') ? APP_SCOPES : ['development', 'staging', 'production']).join(', ');
}

function readArguments(argv: string[]): { application: RegisterApplicationInput; key: IssueKeyInput; json: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        name: { type: 'string' },
        environment: { type: 'string' },
        owner: { type: 'string' },
        scopes: { type: 'string', default: 'flags:read' },
        tenant: { type: 'string', multiple: true },
        'expires-at': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  const application = { name: values.name, environment: values.environment, owner: values.owner };
  const key = {
    scopes: values.scopes.split(',').map((scope) => scope.trim()).filter(Boolean),
    ...(values.tenant ? { tenant_ids: values.tenant.flatMap((t) => t.split(',')).map((t) => t.trim()) } : {}),
    ...(values['expires-at'] ? { expires_at: values['expires-at'] } : {}),
  };
  // The same schemas as the API's, so the command accepts exactly what the API accepts.
  const problems = [...Compile(RegisterApplicationBody).Errors(application), ...Compile(IssueKeyBody).Errors(key)]
    // A value outside a list fails each allowed constant and then the list: say it once, with the list.
    .filter((error) => error.keyword !== 'const')
    .map((error) => `${optionOf(error.instancePath)} ${error.keyword === 'anyOf' ? `must be one of ${allowedFor(error.instancePath)}` : error.message}`);
  if (problems.length > 0) throw new UsageError([...new Set(problems)].join('\n'));
  return { application: application as RegisterApplicationInput, key: key as IssueKeyInput, json: values.json };
}

async function main(): Promise<number> {
  let args;
  try {
    args = readArguments(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    return 64;
  }
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
  const log = createLogger(config.logLevel);
  let db: Database | undefined;
  try {
    db = await openDatabase(config);
    const ctx: RequestContext = {
      correlationId: randomUUID(),
      ip: null,
      userAgent: 'npm run app:register',
      actor: { type: 'system', userId: 'cli:app-register', tenantId: null, roles: [], sessionId: 'cli', amr: [], grants: new Map() },
      reach: 'all',
      log,
    };
    const apps = createAppsService({ db, tenants: tenantDirectory }, new AppKeyVerifier(db, log));
    const { application, key } = await apps.registerWithKey(ctx, args.application, args.key);
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ application, key }, null, 2)}\n`);
    } else {
      process.stdout.write(
        [
          `Application registered: ${application.id} (${application.name}, ${application.environment}, owner ${application.owner})`,
          `Key ${key.prefix}: scopes ${key.scopes.join(', ')}; tenants ${key.tenant_ids ? key.tenant_ids.join(', ') : 'all'}; expires ${key.expires_at ?? 'never'}`,
          `Secret (shown only now; send it as "Authorization: Bearer <secret>" or "X-API-Key: <secret>"):`,
          key.secret,
          '',
        ].join('\n'),
      );
    }
    return 0;
  } catch (error) {
    const details = error instanceof AppError ? ((error.extra?.errors as { message: string }[] | undefined) ?? []).map((e) => `\n  ${e.message}`).join('') : '';
    process.stderr.write(`The application could not be registered: ${(error as Error).message}${details}\n`);
    return 2;
  } finally {
    await db?.close().catch(() => undefined);
  }
}

process.exitCode = await main();
