import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { describe, test } from 'node:test';
import { checkRoleConfig, ConfigError, loadConfig } from './config.ts';

/** Asserts that loading `env` fails with a ConfigError that names `variable`. */
function rejects(env: Record<string, string>, variable: string) {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.equal(error.variable, variable);
      // The operator reads the message, not the property: it must name the variable too.
      assert.match(error.message, new RegExp(`\\b${variable}\\b`));
      return true;
    },
  );
}

describe('configuration (loadConfig)', () => {
  test('an empty environment gives working development defaults', () => {
    const config = loadConfig({});
    assert.equal(config.environment, 'development');
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.port, 3000);
    assert.equal(config.publicUrl, 'http://localhost:3000');
    assert.ok(path.isAbsolute(config.dataDir));
    // No DATABASE_URL: the embedded database, and the owner connection is the same (none).
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.migrationDatabaseUrl, undefined);
    assert.equal(config.databasePoolSize, 10);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.requestTimeoutMs, 15_000);
    assert.equal(config.queryTimeoutMs, 5_000);
    assert.equal(config.bodyLimitBytes, 1_048_576);
    assert.equal(config.jwtAudience, 'tsv-baseline');
    assert.equal(config.signingKey, undefined);
    assert.equal(config.accessTokenTtlSeconds, 900);
    assert.match(config.productPolicyFile, /products\/baseline\/policy\.yaml$/);
    assert.equal(config.sessionCacheTtlMs, 30_000);
    assert.deepEqual(config.argon2, { memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    assert.equal(config.seedDemo, true, 'the demo is seeded in development by default');
    assert.equal(config.demoPassword, undefined);
  });

  test('values are read and typed; PUBLIC_URL loses its trailing slash; MIGRATION_DATABASE_URL defaults to DATABASE_URL', () => {
    const config = loadConfig({
      ENVIRONMENT: 'test',
      PORT: '8080',
      PUBLIC_URL: 'https://tsv.example.com/',
      DATABASE_URL: 'postgres://app@db:5432/tsv',
      LOG_LEVEL: 'warn',
      BODY_LIMIT_BYTES: '2048',
      SEED_DEMO: 'false',
    });
    assert.equal(config.environment, 'test');
    assert.equal(config.port, 8080);
    assert.equal(config.publicUrl, 'https://tsv.example.com');
    assert.equal(config.databaseUrl, 'postgres://app@db:5432/tsv');
    assert.equal(config.migrationDatabaseUrl, 'postgres://app@db:5432/tsv');
    assert.equal(config.logLevel, 'warn');
    assert.equal(config.bodyLimitBytes, 2048);
    assert.equal(config.seedDemo, false);
    assert.equal(loadConfig({ ENVIRONMENT: 'production', SIGNING_KEY: '{}', DATABASE_URL: 'postgres://db/tsv' }).seedDemo, false);
  });

  test('a bad PORT is refused, naming PORT', () => {
    rejects({ PORT: 'eighty' }, 'PORT');
    rejects({ PORT: '-1' }, 'PORT');
    rejects({ PORT: '70000' }, 'PORT');
    rejects({ PORT: '80.5' }, 'PORT');
  });

  test('a bad LOG_LEVEL is refused, naming LOG_LEVEL', () => {
    rejects({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL');
    rejects({ LOG_LEVEL: 'INFO' }, 'LOG_LEVEL');
  });

  test('a bad DATABASE_URL is refused, naming DATABASE_URL', () => {
    rejects({ DATABASE_URL: 'not a url' }, 'DATABASE_URL');
    rejects({ DATABASE_URL: 'mysql://db/tsv' }, 'DATABASE_URL');
  });

  test('a DEMO_PASSWORD shorter than 12 characters is refused, naming DEMO_PASSWORD', () => {
    rejects({ DEMO_PASSWORD: 'short' }, 'DEMO_PASSWORD');
    rejects({ DEMO_PASSWORD: '12345678901' }, 'DEMO_PASSWORD');
    assert.equal(loadConfig({ DEMO_PASSWORD: '123456789012' }).demoPassword, '123456789012');
  });

  test('production refuses to start without SIGNING_KEY or without DATABASE_URL', () => {
    // A generated key on disk or an embedded database would be silently wrong in production.
    rejects({ ENVIRONMENT: 'production', DATABASE_URL: 'postgres://db/tsv' }, 'SIGNING_KEY');
    rejects({ ENVIRONMENT: 'production', SIGNING_KEY: '{"kty":"OKP"}' }, 'DATABASE_URL');
  });

  test('other malformed values are refused too, each naming its variable', () => {
    rejects({ ENVIRONMENT: 'prod' }, 'ENVIRONMENT');
    rejects({ SEED_DEMO: 'maybe' }, 'SEED_DEMO');
    rejects({ PUBLIC_URL: 'ftp://example.com' }, 'PUBLIC_URL');
    rejects({ REQUEST_TIMEOUT_MS: '10' }, 'REQUEST_TIMEOUT_MS');
    rejects({ BODY_LIMIT_BYTES: '1' }, 'BODY_LIMIT_BYTES');
  });

  describe('audit checkpoint keys (FR-AUD-002)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const privateJwk = JSON.stringify(privateKey.export({ format: 'jwk' }));
    const publicJwk = JSON.stringify(publicKey.export({ format: 'jwk' }));
    const production = { ENVIRONMENT: 'production', DATABASE_URL: 'postgres://db/tsv', SIGNING_KEY: privateJwk };

    test('unset: no key (one is generated in DATA_DIR outside production), hourly checkpoints', () => {
      const config = loadConfig({});
      assert.equal(config.auditCheckpointKey, undefined);
      assert.deepEqual(config.auditCheckpointPublicKeys, []);
      assert.equal(config.auditCheckpointIntervalMinutes, 60);
    });

    test('the private key, public keys as a JWK, an array or a JWK set, and the interval are read', () => {
      const config = loadConfig({ AUDIT_CHECKPOINT_KEY: privateJwk, AUDIT_CHECKPOINT_PUBLIC_KEY: publicJwk, AUDIT_CHECKPOINT_INTERVAL_MINUTES: '15' });
      assert.equal(config.auditCheckpointKey?.d, JSON.parse(privateJwk).d);
      assert.deepEqual(config.auditCheckpointPublicKeys, [{ kty: 'OKP', crv: 'Ed25519', x: JSON.parse(publicJwk).x }]);
      assert.equal(config.auditCheckpointIntervalMinutes, 15);
      assert.equal(loadConfig({ AUDIT_CHECKPOINT_PUBLIC_KEY: `[${publicJwk},${publicJwk}]` }).auditCheckpointPublicKeys.length, 2);
      assert.equal(loadConfig({ AUDIT_CHECKPOINT_PUBLIC_KEY: `{"keys":[${publicJwk}]}` }).auditCheckpointPublicKeys.length, 1);
    });

    test('malformed keys and intervals are refused, naming the variable', () => {
      rejects({ AUDIT_CHECKPOINT_KEY: 'not json' }, 'AUDIT_CHECKPOINT_KEY');
      rejects({ AUDIT_CHECKPOINT_KEY: publicJwk }, 'AUDIT_CHECKPOINT_KEY');
      rejects({ AUDIT_CHECKPOINT_KEY: '{"kty":"EC","crv":"P-256","x":"a","d":"b"}' }, 'AUDIT_CHECKPOINT_KEY');
      // A private key where public keys go would hand the signing key to every verifier.
      rejects({ AUDIT_CHECKPOINT_PUBLIC_KEY: privateJwk }, 'AUDIT_CHECKPOINT_PUBLIC_KEY');
      rejects({ AUDIT_CHECKPOINT_INTERVAL_MINUTES: '0' }, 'AUDIT_CHECKPOINT_INTERVAL_MINUTES');
      rejects({ AUDIT_CHECKPOINT_INTERVAL_MINUTES: '45' }, 'AUDIT_CHECKPOINT_INTERVAL_MINUTES');
      rejects({ AUDIT_CHECKPOINT_INTERVAL_MINUTES: '2880' }, 'AUDIT_CHECKPOINT_INTERVAL_MINUTES');
    });

    test('production: the worker needs AUDIT_CHECKPOINT_KEY, the API process does not', () => {
      const config = loadConfig(production);
      assert.throws(
        () => checkRoleConfig(config, { api: false, worker: true }),
        (error: unknown) => error instanceof ConfigError && error.variable === 'AUDIT_CHECKPOINT_KEY' && /AUDIT_CHECKPOINT_KEY is required in production/.test(error.message),
      );
      assert.throws(() => checkRoleConfig(config, { api: true, worker: true }), ConfigError);
      checkRoleConfig(config, { api: true, worker: false });
      checkRoleConfig(loadConfig({ ...production, AUDIT_CHECKPOINT_KEY: privateJwk }), { api: false, worker: true });
      // Outside production a generated key does.
      checkRoleConfig(loadConfig({}), { api: true, worker: true });
    });
  });
});
