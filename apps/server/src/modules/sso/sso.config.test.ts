import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../kernel/config.ts';

const OIDC = {
  PLATFORM_OIDC_ISSUER: 'https://login.example.com',
  PLATFORM_OIDC_CLIENT_ID: 'tsv',
  PLATFORM_OIDC_CLIENT_SECRET: 's3cret',
  PLATFORM_OIDC_ALLOWED_DOMAINS: 'Example.com, staff.example.com',
};

function rejects(env: Record<string, string>, variable: string) {
  assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && error.variable === variable && error.message.includes(variable));
}

describe('SSO configuration (FR-AUTH-011, FR-RBAC-006)', () => {
  test('operator SSO is off without an issuer; with one, defaults apply', () => {
    assert.equal(loadConfig({}).platformOidc, null);
    assert.deepEqual(loadConfig(OIDC).platformOidc, {
      issuer: 'https://login.example.com',
      clientId: 'tsv',
      clientSecret: 's3cret',
      allowedDomains: ['example.com', 'staff.example.com'],
      defaultRole: 'support',
      superAdminGroup: null,
      groupsClaim: 'groups',
    });
  });

  test('an incomplete or wrong operator SSO setting names its variable', () => {
    rejects({ ...OIDC, PLATFORM_OIDC_CLIENT_ID: '' }, 'PLATFORM_OIDC_CLIENT_ID');
    rejects({ ...OIDC, PLATFORM_OIDC_CLIENT_SECRET: '' }, 'PLATFORM_OIDC_CLIENT_SECRET');
    rejects({ ...OIDC, PLATFORM_OIDC_ALLOWED_DOMAINS: '' }, 'PLATFORM_OIDC_ALLOWED_DOMAINS');
    // Super Admin is never a stored role, so it cannot be the role of provisioned staff.
    rejects({ ...OIDC, PLATFORM_OIDC_DEFAULT_ROLE: 'super_admin' }, 'PLATFORM_OIDC_DEFAULT_ROLE');
    rejects({ ...OIDC, PLATFORM_OIDC_ISSUER: 'ftp://login.example.com' }, 'PLATFORM_OIDC_ISSUER');
  });

  test('SECRETS_KEY must be 32 bytes; OUTBOUND_ALLOW_HOSTS is a list of hosts', () => {
    rejects({ SECRETS_KEY: Buffer.alloc(16).toString('base64') }, 'SECRETS_KEY');
    rejects({ SECRETS_KEY_PREVIOUS: Buffer.alloc(32).toString('base64') }, 'SECRETS_KEY');
    const key = Buffer.alloc(32, 1).toString('base64');
    assert.deepEqual(loadConfig({ SECRETS_KEY: key }).secretsKeys, [key]);
    assert.deepEqual(loadConfig({ OUTBOUND_ALLOW_HOSTS: '127.0.0.1, IdP.internal, [::1]' }).outboundAllowHosts, ['127.0.0.1', 'idp.internal', '::1']);
  });
});
