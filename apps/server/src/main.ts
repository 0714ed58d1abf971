import { checkRoleConfig, loadConfig, ConfigError } from './kernel/config.ts';
import { loadPolicy, PolicyError } from './kernel/policy.ts';
import { createLogger } from './kernel/log.ts';
import { seedDemo } from './seed.ts';
import { POLICY_SECTIONS, startPlatform, type StartOptions } from './start.ts';

/**
 * Entry point. `main.ts` runs the API and the worker in one process (the default, and what
 * `npm start` runs); `api.ts` and `worker.ts` run one role each for scaled deployments.
 */
export async function run(role: Pick<StartOptions, 'api' | 'worker'>) {
  let config, policy;
  try {
    config = loadConfig();
    checkRoleConfig(config, role);
    policy = loadPolicy(config.productPolicyFile, POLICY_SECTIONS);
  } catch (error) {
    // EX_CONFIG: a bad setting or policy file is not worth restarting for.
    if (error instanceof ConfigError || error instanceof PolicyError) {
      console.error(error.message);
      process.exit(78);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const running = await startPlatform(config, log, { ...role, policy });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining requests and jobs');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownGraceMs + 5_000);
    force.unref();
    await running.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  if (role.api && config.seedDemo) {
    const demo = await seedDemo(running);
    const lines = [
      '',
      `TSV Baseline is running at ${config.publicUrl} (${running.platform.db.backend === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'})`,
      `API documentation: ${config.publicUrl}/v1/docs`,
      `Demo accounts (password: ${demo.password}):`,
      ...demo.accounts.map((a) => `  ${a.email.padEnd(28)} ${a.tenant ? `organization ${a.tenant}` : 'platform operator'} (${a.role})`),
      '',
    ];
    process.stdout.write(lines.join('\n'));
  }
  if (running.app) await running.app.listen({ host: config.host, port: config.port });
  if (role.api) log.info({ url: config.publicUrl }, 'listening');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run({ api: true, worker: true });
}
