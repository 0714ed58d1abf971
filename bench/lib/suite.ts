/** What a suite of bench/suites/ is, what the runner hands it, and what it hands back. */
import type { Config } from '../../apps/server/src/kernel/config.ts';
import type { Logger } from '../../apps/server/src/kernel/log.ts';
import type { Running } from '../../apps/server/src/start.ts';
import type { CustomerReads } from './customer-reads.ts';
import type { Result } from './engine.ts';
import type { LoadGenerator } from './load-generator.ts';
import type { Options } from './options.ts';
import type { Figures } from './report.ts';
import type { Seeded } from './seed.ts';

export interface SuiteContext {
  options: Options;
  config: Config;
  log: Logger;
  /** The platform (api and worker) running in this process. */
  running: Running;
  seeded: Seeded;
  /** The platform's HTTP server. */
  appUrl: string;
  load: LoadGenerator;
  /** The benchmark database's name (it keeps this run's Redis keys apart). */
  databaseName: string;
  customerReads: CustomerReads;
}

/** A suite's parts of the report. */
export interface SuiteReport {
  /** Its rows of the summary table. */
  summary: string[];
  /** Its section, from its "## (x)" heading on. */
  section: string;
  /** Its sentences in the closing "Reading". */
  reading: string[];
}

export interface SuiteOutcome {
  /** Its variants' results, written to the results file under results.<name>. */
  results?: Result[];
  /** What a suite that times its requests itself (not through suite()) writes to the results file, under <name>. */
  record?: unknown;
  /** Its parts of the report, rendered once every suite has run (a run with BENCH_ONLY writes no report). */
  report(figures: Figures): SuiteReport;
}

/** One measurement of the report, labelled (a), (b), ... */
export interface BenchSuite {
  /** Its name in the results file. */
  name: string;
  /** Its label in progress lines, e.g. "(a) login". */
  title: string;
  /** Every variant key it answers to in BENCH_ONLY; the runner skips a suite none of whose keys is asked for. */
  keys: string[];
  /** Sets up what it needs, checks that each path it measures answers, then measures. */
  run(context: SuiteContext): Promise<SuiteOutcome>;
}
