/** The harness's options, from argv (--name=N) or the environment (BENCH_NAME); see bench/README.md. */

export interface Options {
  tenants: number;
  users: number;
  customers: number;
  sessions: number;
  logins: number;
  seconds: number;
  warmup: number;
  runs: number;
  connections: number;
  loginConnections: number;
  serverUrl: string;
  /** Seconds per slice: the variants of a suite take turns in slices of this length. */
  slice: number;
  /** Variant keys to run (profiling); empty runs everything and writes the report. */
  only: string[];
  /** Wait before a measurement while other processes use more than this many cores... */
  quietCores: number;
  /** ...for at most this many seconds. */
  quietWait: number;
}

function argValue(name: string): string | undefined {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === `--${name}`) return args[i + 1];
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return undefined;
}

/** A whole number from argv (--name=N) or the environment (BENCH_NAME), else the default. */
function intOption(name: string, env: string, fallback: number, min: number): number {
  const raw = argValue(name) ?? process.env[env];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${env} (--${name}) must be a whole number >= ${min}, got "${raw}"`);
  return Number(raw);
}

export function parseOptions(): Options {
  const tenants = intOption('tenants', 'BENCH_TENANTS', 20, 1);
  const users = intOption('users', 'BENCH_USERS', 50, 1);
  const total = tenants * users;
  return {
    tenants,
    users,
    customers: intOption('customers', 'BENCH_CUSTOMERS', 5, 1),
    sessions: Math.min(total, intOption('sessions', 'BENCH_SESSIONS', Math.min(total, 2_000), 1)),
    logins: Math.min(total, intOption('logins', 'BENCH_LOGINS', Math.min(total, 2_000), 1)),
    seconds: intOption('duration', 'BENCH_DURATION', 10, 1),
    warmup: intOption('warmup', 'BENCH_WARMUP', 2, 0),
    runs: intOption('runs', 'BENCH_RUNS', 3, 1),
    slice: intOption('slice', 'BENCH_SLICE', 2, 1),
    connections: intOption('connections', 'BENCH_CONNECTIONS', 32, 1),
    loginConnections: intOption('login-connections', 'BENCH_LOGIN_CONNECTIONS', 16, 1),
    serverUrl: argValue('database-url') ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    only: (argValue('only') ?? process.env.BENCH_ONLY ?? '').split(',').map((k) => k.trim()).filter(Boolean),
    quietCores: Number(argValue('quiet-cores') ?? process.env.BENCH_QUIET_CORES ?? '0.3'),
    quietWait: intOption('quiet-wait', 'BENCH_QUIET_WAIT', 120, 0),
  };
}
