/**
 * (l) Existence oracles: whether the answer's timing tells that an account or an organization
 * exists, each path timed one request at a time against the same path measured twice (the floor).
 */
import { performance } from 'node:perf_hooks';
import { fmt } from '../lib/format.ts';
import { postJson } from '../lib/http.ts';
import type { Options } from '../lib/options.ts';
import { progress } from '../lib/progress.ts';
import { met } from '../lib/report.ts';
import { accountAt } from '../lib/seed.ts';
import { percentile } from '../lib/stats.ts';
import type { BenchSuite } from '../lib/suite.ts';

/** One request path of an oracle pair, timed one request at a time. */
interface OraclePath {
  label: string;
  latencies: number[];
}

interface OraclePair {
  title: string;
  /** The path an attacker compares against (an existing account). */
  known: OraclePath;
  /** The same path again, with other accounts: how far two samples of one path differ (the floor). */
  again: OraclePath;
  /** The path that must not stand out (no such account or organization). */
  unknown: OraclePath;
}

/** A nearest-rank quantile (0..1) of unsorted latencies. */
const quantile = (values: number[], p: number) => percentile(Float64Array.from(values).sort(), p);
const latencyP50 = (values: number[]) => quantile(values, 0.5);
/** The difference an attacker could read, against the floor of the same path measured twice. */
const oracleGap = (pair: OraclePair) => ({ gap: latencyP50(pair.unknown.latencies) - latencyP50(pair.known.latencies), floor: Math.abs(latencyP50(pair.again.latencies) - latencyP50(pair.known.latencies)) });
/** Indistinguishable: the gap is within twice the floor, or under a millisecond. */
const oracleClosed = (pair: OraclePair) => {
  const { gap, floor } = oracleGap(pair);
  return Math.abs(gap) <= Math.max(2 * floor, 1);
};

/**
 * Times, one request at a time and in shuffled order, a request about an existing account, the
 * same about other existing accounts, and the same about none: a wrong password against an unknown
 * organization at login, and a reset request for an existing against an unknown address. Every
 * account is asked once, so no lockout, slowdown or reset allowance takes part.
 */
async function measureOracles(appUrl: string, options: Options, samples: number): Promise<OraclePair[]> {
  const timed = async (path: OraclePath, request: () => Promise<Response>, expected: number) => {
    const t0 = performance.now();
    const response = await request();
    path.latencies.push(performance.now() - t0);
    if (response.status !== expected) throw new Error(`${path.label}: ${response.status} ${await response.text()}`);
  };
  const login = (email: string, tenant: string) => () => postJson(`${appUrl}/v1/auth/login`, { email, password: 'Not-The-Bench-Passw0rd!', tenant });
  const reset = (email: string, tenant: string) => () => postJson(`${appUrl}/v1/auth/password-reset`, { email, tenant });
  const pair = (title: string, labels: [string, string, string]): OraclePair => ({
    title,
    known: { label: labels[0], latencies: [] },
    again: { label: labels[1], latencies: [] },
    unknown: { label: labels[2], latencies: [] },
  });
  const signIn = pair('POST /v1/auth/login, wrong password (401)', ['existing account, wrong password', 'other existing accounts, wrong password', 'unknown organization']);
  const resets = pair('POST /v1/auth/password-reset (202)', ['existing account', 'other existing accounts', 'unknown address']);
  for (let i = 0; i < samples; i++) {
    // Accounts far from those (a) and (k) sign in with, three per sample, never one twice.
    const [a, b, c] = [0, 1, 2].map((n) => accountAt(options.tenants * options.users - 1 - (3 * i + n), options));
    const steps = [
      () => timed(signIn.known, login(a!.email, a!.slug), 401),
      () => timed(signIn.again, login(b!.email, b!.slug), 401),
      () => timed(signIn.unknown, login(c!.email, `no-such-organization-${i}`), 401),
      () => timed(resets.known, reset(a!.email, a!.slug), 202),
      () => timed(resets.again, reset(b!.email, b!.slug), 202),
      () => timed(resets.unknown, reset(`nobody-${i}@${c!.slug}.test`, c!.slug), 202),
    ].sort(() => Math.random() - 0.5);
    for (const step of steps) await step();
  }
  return [signIn, resets];
}

export const oracleSuite: BenchSuite = {
  name: 'oracles',
  title: '(l) oracles',
  keys: ['oracles'],
  async run({ options, appUrl }) {
    const oracleSamples = Math.min(150, Math.floor((options.tenants * options.users) / 4));
    const oracles = await measureOracles(appUrl, options, oracleSamples);
    for (const pair of oracles) {
      const { gap, floor } = oracleGap(pair);
      progress(`(l) ${pair.title}: unknown - existing = ${fmt(gap, 2)} ms (floor ${fmt(floor, 2)} ms)`);
    }

    return {
      record: oracles.map((pair) => ({ title: pair.title, ...oracleGap(pair), closed: oracleClosed(pair) })),
      report: () => ({
        summary: oracles.map(
          (pair) =>
            `| (l) oracle: ${pair.title}, unknown - existing (p50 ms) | ${fmt(oracleGap(pair).gap, 2)} ms | - | - | the same path measured twice | ${fmt(oracleGap(pair).floor, 2)} ms | - | within 2x the floor or 1 ms | ${met(oracleClosed(pair))} |`,
        ),
        section: `## (l) Existence oracles

Whether the answer's timing tells that an account or an organization exists. One request at a time from the benchmark process (fetch),
${oracles[0]?.known.latencies.length ?? 0} samples per path in shuffled order, each account asked once (no lockout, slowdown or reset allowance takes part).
The floor is the same path measured twice with other existing accounts: a gap within twice the floor (or under 1 ms) cannot be told from noise.

| request | path | p50 ms | p90 ms | unknown - existing | floor | indistinguishable |
|---|---|---:|---:|---:|---:|---|
${oracles
  .flatMap((pair) =>
    [pair.known, pair.again, pair.unknown].map(
      (path, i) =>
        `| ${i === 0 ? pair.title : ''} | ${path.label} | ${fmt(quantile(path.latencies, 0.5), 2)} | ${fmt(quantile(path.latencies, 0.9), 2)} | ${i === 2 ? `${fmt(oracleGap(pair).gap, 2)} ms` : ''} | ${i === 2 ? `${fmt(oracleGap(pair).floor, 2)} ms` : ''} | ${i === 2 ? met(oracleClosed(pair)) : ''} |`,
    ),
  )
  .join('\n')}`,
        reading: [],
      }),
    };
  },
};
