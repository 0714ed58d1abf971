import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestPlatform, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { PLATFORM_CHAIN } from '../../kernel/audit/audit.ts';
import { buildDocument, decodeFlagChange, effectiveValue, encodeFlagChange, etagOf, type FlagDefinition, type FlagSnapshot } from './flag-cache.ts';

describe('effective values and change encoding (pure)', () => {
  const variant: FlagDefinition = { key: 'checkout', kind: 'variant', variants: ['a', 'b', 'c'], defaultValue: 'a', planDefaults: { enterprise: 'b' } };

  test('override, else plan default, else platform default; a value that no longer fits is skipped', () => {
    assert.equal(effectiveValue(variant, 'standard', undefined), 'a');
    assert.equal(effectiveValue(variant, 'enterprise', undefined), 'b');
    assert.equal(effectiveValue(variant, 'enterprise', 'c'), 'c');
    assert.equal(effectiveValue(variant, 'enterprise', 'removed'), 'b');
    assert.equal(effectiveValue(variant, 'enterprise', true), 'b');
    // A plan named like an Object.prototype member is just another plan.
    assert.equal(effectiveValue(variant, 'constructor', undefined), 'a');
  });

  test('the ETag follows the document and nothing else (key order, switch order)', () => {
    const snapshot = (switches: FlagSnapshot['switches']): FlagSnapshot => ({ definitions: [variant], switches, switchIndex: new Map(), loadedAt: 0 });
    const tenant = '11111111-1111-4111-8111-111111111111';
    const one = buildDocument(snapshot([{ name: 'ai', tenantId: null, channel: null }, { name: 'messaging', tenantId: tenant, channel: 'sms' }]), tenant, 'standard', new Map());
    const two = buildDocument(snapshot([{ name: 'messaging', tenantId: tenant, channel: 'sms' }, { name: 'ai', tenantId: null, channel: null }]), tenant, 'standard', new Map());
    assert.equal(etagOf(one), etagOf(two));
    assert.match(etagOf(one), /^"[A-Za-z0-9_-]{43}"$/);
    const changed = buildDocument(snapshot([]), tenant, 'standard', new Map([['checkout', 'c']]));
    assert.notEqual(etagOf(changed), etagOf(one));
    // Another tenant's switch is not part of this tenant's document.
    const other = buildDocument(snapshot([{ name: 'sync', tenantId: '22222222-2222-4222-8222-222222222222', channel: null }]), tenant, 'standard', new Map());
    assert.deepEqual(other.switches, []);
  });

  test('notification payloads round-trip; anything unexpected reloads everything', () => {
    const tenant = '11111111-1111-4111-8111-111111111111';
    for (const change of [{ reload: true, tenantId: null }, { reload: false, tenantId: tenant }, { reload: true, tenantId: tenant }]) {
      assert.deepEqual(decodeFlagChange(encodeFlagChange(change)), change);
    }
    for (const junk of ['', 'tenant:not-a-uuid', 'drop:*', 'tenant']) assert.deepEqual(decodeFlagChange(junk), { reload: true, tenantId: null });
  });
});

describe('feature flags, overrides and tenant configuration (FR-FLAG-001, FR-TEN-003)', () => {
  let t: TestPlatform;
  let operator: Session;
  let acmeOwner: Session;
  let acmeMember: Session;
  let globexOwner: Session;
  let acme: string;
  let globex: string;

  const config = (session: Session, tenantId: string) => t.app.inject({ method: 'GET', url: `/v1/tenants/${tenantId}/config`, headers: session.headers });
  const flagsOf = async (session: Session, tenantId: string) => {
    const response = await config(session, tenantId);
    assert.equal(response.statusCode, 200, response.body);
    return response.json().flags as Record<string, boolean | string>;
  };
  const op = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({ method, url, headers: operator.headers, ...(payload ? { payload } : {}) });
  const actions = async (chain: string, resourceId: string) =>
    (await t.db.owner.selectFrom('audit_events').select('action').where('chain_id', '=', chain).where('resource_id', '=', resourceId).orderBy('seq').execute()).map(
      (row) => row.action,
    );

  before(async () => {
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    operator = await t.login('operator@demo.test');
    acmeOwner = await t.login('owner@acme.demo.test', 'acme');
    acmeMember = await t.login('member@acme.demo.test', 'acme');
    globexOwner = await t.login('owner@globex.demo.test', 'globex');
  });
  after(() => t?.close());

  test('operators create, read, list and change flags; bad definitions are 400 and change nothing', async () => {
    const created = await op('POST', '/v1/platform/flags', { key: 'new-dashboard', kind: 'boolean', default_value: false, plan_defaults: { enterprise: true }, description: 'The new dashboard' });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().version, 1);
    const variant = await op('POST', '/v1/platform/flags', { key: 'checkout.flow', kind: 'variant', variants: ['classic', 'express'], default_value: 'classic' });
    assert.equal(variant.statusCode, 201, variant.body);

    for (const bad of [
      { key: 'b1', kind: 'boolean', variants: ['x', 'y'], default_value: true },
      { key: 'b2', kind: 'variant', default_value: 'x' },
      { key: 'b3', kind: 'variant', variants: ['x', 'y'], default_value: 'z' },
      { key: 'b4', kind: 'boolean', default_value: 'yes' },
      { key: 'b5', kind: 'boolean', default_value: true, plan_defaults: { pro: 'on' } },
      { key: 'Bad Key', kind: 'boolean', default_value: true },
      { key: 'b6', kind: 'variant', variants: ['true', 'x'], default_value: 'x' },
    ]) {
      const response = await op('POST', '/v1/platform/flags', bad);
      assert.equal(response.statusCode, 400, `${JSON.stringify(bad)}: ${response.body}`);
      assert.equal(response.json().type, '/problems/validation');
    }
    const duplicate = await op('POST', '/v1/platform/flags', { key: 'new-dashboard', kind: 'boolean', default_value: true });
    assert.equal(duplicate.statusCode, 409);
    const keys = (await op('GET', '/v1/platform/flags')).json().items.map((f: { key: string }) => f.key);
    assert.deepEqual(keys, ['checkout.flow', 'new-dashboard']);

    const page = await op('GET', '/v1/platform/flags?limit=1');
    assert.deepEqual(page.json().items.map((f: { key: string }) => f.key), ['checkout.flow']);
    const rest = await op('GET', `/v1/platform/flags?limit=1&cursor=${page.json().next_cursor}`);
    assert.deepEqual(rest.json().items.map((f: { key: string }) => f.key), ['new-dashboard']);
    assert.equal(rest.json().next_cursor, null);

    const changed = await op('PATCH', '/v1/platform/flags/checkout.flow', { variants: ['classic', 'express', 'one-click'], version: 1 });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal(changed.json().version, 2);
    const stale = await op('PATCH', '/v1/platform/flags/checkout.flow', { default_value: 'express', version: 1 });
    assert.equal(stale.statusCode, 409);
    assert.equal(stale.json().type, '/problems/version-conflict');
    assert.equal((await op('GET', '/v1/platform/flags/checkout.flow')).json().default_value, 'classic');
    assert.equal((await op('GET', '/v1/platform/flags/nope')).statusCode, 404);

    assert.deepEqual(await actions(PLATFORM_CHAIN, 'checkout.flow'), ['flag.created', 'flag.updated']);
  });

  test('tenants cannot manage flags; the config route needs config.read and the own tenant', async () => {
    const write = await t.app.inject({ method: 'POST', url: '/v1/platform/flags', headers: acmeOwner.headers, payload: { key: 'sneaky', kind: 'boolean', default_value: true } });
    assert.equal(write.statusCode, 403);
    assert.equal((await config(acmeMember, acme)).statusCode, 200);
    const foreign = await config(acmeOwner, globex);
    assert.equal(foreign.statusCode, 403);
    assert.equal(foreign.json().type, '/problems/tenant-mismatch');
  });

  test('effective value: tenant override, else plan default, else platform default', async () => {
    assert.equal((await flagsOf(acmeOwner, acme))['new-dashboard'], false);
    // globex moves to the enterprise plan; its next read computes its document afresh.
    const tenant = (await op('GET', `/v1/platform/tenants/${globex}`)).json();
    const moved = await op('PATCH', `/v1/platform/tenants/${globex}`, { plan: 'enterprise', version: tenant.version });
    assert.equal(moved.statusCode, 200, moved.body);
    const globexFlags = await flagsOf(globexOwner, globex);
    assert.equal(globexFlags['new-dashboard'], true);
    assert.equal(globexFlags['checkout.flow'], 'classic');

    const set = await op('PUT', '/v1/platform/flags/new-dashboard/overrides', { tenant_id: acme, value: true });
    assert.equal(set.statusCode, 200, set.body);
    assert.equal((await flagsOf(acmeOwner, acme))['new-dashboard'], true, 'the override applies at once on the node that made it');
    const variantOverride = await op('PUT', '/v1/platform/flags/checkout.flow/overrides', { tenant_id: acme, value: 'one-click' });
    assert.equal(variantOverride.statusCode, 200, variantOverride.body);
    assert.equal((await flagsOf(acmeOwner, acme))['checkout.flow'], 'one-click');
    assert.equal((await flagsOf(globexOwner, globex))['checkout.flow'], 'classic', "acme's override is acme's alone");

    const wrongKind = await op('PUT', '/v1/platform/flags/checkout.flow/overrides', { tenant_id: acme, value: true });
    assert.equal(wrongKind.statusCode, 400);
    const unknownTenant = await op('PUT', '/v1/platform/flags/checkout.flow/overrides', { tenant_id: '00000000-0000-4000-8000-000000000000', value: 'express' });
    assert.equal(unknownTenant.statusCode, 404);
    const list = await op('GET', '/v1/platform/flags/checkout.flow/overrides');
    assert.deepEqual(list.json().items.map((o: { tenant_id: string; value: string }) => [o.tenant_id, o.value]), [[acme, 'one-click']]);

    // A variant still in use by an override cannot be removed.
    const current = (await op('GET', '/v1/platform/flags/checkout.flow')).json();
    const strand = await op('PATCH', '/v1/platform/flags/checkout.flow', { variants: ['classic', 'express'], version: current.version });
    assert.equal(strand.statusCode, 409, strand.body);

    const removed = await op('DELETE', `/v1/platform/flags/new-dashboard/overrides?tenant_id=${acme}`);
    assert.equal(removed.statusCode, 204);
    assert.equal((await flagsOf(acmeOwner, acme))['new-dashboard'], false);
    assert.equal((await op('DELETE', `/v1/platform/flags/new-dashboard/overrides?tenant_id=${acme}`)).statusCode, 404);

    // Overrides are audited in the platform chain and in the tenant's own chain.
    assert.deepEqual(await actions(PLATFORM_CHAIN, 'new-dashboard'), ['flag.created', 'flag.override_set', 'flag.override_removed']);
    assert.deepEqual(await actions(acme, 'new-dashboard'), ['flag.override_set', 'flag.override_removed']);
    assert.deepEqual(await actions(globex, 'new-dashboard'), []);
  });

  test("a tenant reads its own overrides through RLS, never another tenant's; it cannot write them", async () => {
    await op('PUT', '/v1/platform/flags/checkout.flow/overrides', { tenant_id: globex, value: 'express' });
    const seen = await t.db.withWholeTenant(acme, (tx) => tx.selectFrom('tenant_flag_overrides').select(['tenant_id', 'flag_key']).execute());
    assert.deepEqual(seen, [{ tenant_id: acme, flag_key: 'checkout.flow' }]);
    await assert.rejects(
      t.db.withWholeTenant(acme, (tx) => tx.insertInto('tenant_flag_overrides').values({ tenant_id: acme, flag_key: 'new-dashboard', value: 'true' }).execute()),
      (error: { code?: string }) => error.code === '42501',
    );
    await assert.rejects(
      t.db.withWholeTenant(acme, (tx) => tx.selectFrom('feature_flags').select('key').execute()),
      (error: { code?: string }) => error.code === '42501',
    );
  });

  test('deleting a flag removes it and its overrides from every tenant', async () => {
    const current = (await op('GET', '/v1/platform/flags/checkout.flow')).json();
    assert.equal((await op('DELETE', `/v1/platform/flags/checkout.flow?version=${current.version + 5}`)).statusCode, 409);
    assert.equal((await op('DELETE', `/v1/platform/flags/checkout.flow?version=${current.version}`)).statusCode, 204);
    assert.equal('checkout.flow' in (await flagsOf(acmeOwner, acme)), false);
    assert.equal('checkout.flow' in (await flagsOf(globexOwner, globex)), false);
    const left = await t.db.owner.selectFrom('tenant_flag_overrides').select('tenant_id').where('flag_key', '=', 'checkout.flow').execute();
    assert.deepEqual(left, []);
  });

  test('settings and branding: defaults, a validated replace with version, audited; bad input changes nothing', async () => {
    const initial = (await config(acmeOwner, acme)).json();
    assert.deepEqual(
      { settings: initial.settings, branding: initial.branding, version: initial.version, plan: initial.plan, tenant_id: initial.tenant_id },
      { settings: { locale: 'en', timezone: 'UTC' }, branding: { logo_url: null, primary_color: null, accent_color: null }, version: 0, plan: 'standard', tenant_id: acme },
    );
    const url = `/v1/tenants/${acme}/settings`;
    const body = {
      settings: { locale: 'de-ch', timezone: 'Europe/Zurich' },
      branding: { logo_url: 'https://cdn.acme.example/logo.svg', primary_color: '#1A2B3C', accent_color: null },
      version: 0,
    };
    const saved = await t.app.inject({ method: 'PUT', url, headers: acmeOwner.headers, payload: body });
    assert.equal(saved.statusCode, 200, saved.body);
    assert.deepEqual(saved.json().settings, { locale: 'de-CH', timezone: 'Europe/Zurich' });
    assert.equal(saved.json().branding.primary_color, '#1a2b3c');
    assert.equal(saved.json().version, 1);

    const bad = [
      { ...body, version: 1, branding: { ...body.branding, primary_color: 'red' } },
      { ...body, version: 1, branding: { ...body.branding, logo_url: 'http://cdn.acme.example/logo.svg' } },
      { ...body, version: 1, branding: { ...body.branding, logo_url: 'https://user:pw@cdn.acme.example/logo.svg' } },
      { ...body, version: 1, branding: { ...body.branding, logo_url: 'javascript:alert(1)' } },
      { ...body, version: 1, settings: { ...body.settings, timezone: 'Mars/Olympus_Mons' } },
      { ...body, version: 1, settings: { ...body.settings, locale: 'not a locale' } },
      { ...body, version: 1, extra: true },
    ];
    for (const payload of bad) {
      const response = await t.app.inject({ method: 'PUT', url, headers: acmeOwner.headers, payload });
      assert.equal(response.statusCode, 400, `${JSON.stringify(payload)}: ${response.body}`);
    }
    const stale = await t.app.inject({ method: 'PUT', url, headers: acmeOwner.headers, payload: body });
    assert.equal(stale.statusCode, 409);
    const member = await t.app.inject({ method: 'PUT', url, headers: acmeMember.headers, payload: { ...body, version: 1 } });
    assert.equal(member.statusCode, 403);

    const after = (await config(acmeMember, acme)).json();
    assert.equal(after.version, 1);
    assert.equal(after.branding.logo_url, 'https://cdn.acme.example/logo.svg');
    assert.equal((await config(globexOwner, globex)).json().version, 0, "globex's settings are its own");
    const events = await t.db.owner
      .selectFrom('audit_events')
      .select(['action', 'metadata'])
      .where('chain_id', '=', acme)
      .where('action', '=', 'tenant.settings_updated')
      .execute();
    assert.equal(events.length, 1);
    assert.deepEqual((events[0]!.metadata as { fields: string[] }).fields.sort(), ['locale', 'logo_url', 'primary_color', 'timezone']);
  });
});
