// The audit log is append-only and hash-chained per tenant, plus one platform chain: any change,
// removal or reordering of a stored event is found by verifyAuditChains at the exact link.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql, type Selectable } from 'kysely';
import { auditPayload, chainHash, PLATFORM_CHAIN, recordAudit } from '../src/kernel/audit/audit.ts';
import type { RequestContext } from '../src/kernel/context.ts';
import { createLogger } from '../src/kernel/log.ts';
import type { ChainBreak } from '../src/kernel/audit/verify.ts';
import type { Tx } from '../src/kernel/db/database.ts';
import type { AuditEventsTable } from '../src/kernel/db/schema.ts';
import { buildTestPlatform, sqlstate, TEST_PASSWORD, type Session, type TestPlatform } from './helpers.ts';

type AuditRow = Selectable<AuditEventsTable>;

describe('audit hash chains', () => {
  let t: TestPlatform;
  let acme: string;
  let globex: string;
  let globexOwner: Session;

  const chainOf = (chainId: string) =>
    t.db.owner.selectFrom('audit_events').selectAll().where('chain_id', '=', chainId).orderBy('seq').execute();

  const createCustomer = (tenantId: string, session: Session, name: string) =>
    t.app.inject({ method: 'POST', url: `/v1/tenants/${tenantId}/customers`, headers: session.headers, payload: { name } });

  /**
   * Tampers with one chain as the owner (the append-only trigger switched off, as an intruder with
   * the owner's credentials could), verifies, then puts the chain back exactly as it was.
   */
  async function verifyTampered(chainId: string, tamper: (events: AuditRow[]) => Promise<void>): Promise<ChainBreak[]> {
    const original = await chainOf(chainId);
    await sql`alter table audit_events disable trigger audit_events_no_update`.execute(t.db.owner);
    try {
      await tamper(original);
      const report = await t.verifyAudit();
      assert.equal(report.ok, false, 'the tampering went unnoticed');
      return report.breaks;
    } finally {
      await t.db.owner.deleteFrom('audit_events').where('chain_id', '=', chainId).execute();
      await t.db.owner
        .insertInto('audit_events')
        .values(original.map((row) => ({ ...row, metadata: JSON.stringify(row.metadata) })))
        .execute();
      await sql`alter table audit_events enable trigger audit_events_no_update`.execute(t.db.owner);
      assert.equal((await t.verifyAudit()).ok, true, 'the chain was not restored');
    }
  }

  before(async () => {
    // No worker: nothing appends to a chain while a test has it open.
    t = await buildTestPlatform({}, { worker: false });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    // Activity on every chain: logins, customers in both tenants, a tenant created by the operator.
    const acmeOwner = await t.login('owner@acme.demo.test', 'acme');
    globexOwner = await t.login('owner@globex.demo.test', 'globex');
    const operator = await t.login('operator@demo.test');
    for (const [tenantId, session] of [[acme, acmeOwner], [globex, globexOwner]] as const) {
      for (const name of ['Chain One', 'Chain Two']) assert.equal((await createCustomer(tenantId, session, name)).statusCode, 201);
    }
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/platform/tenants',
      headers: operator.headers,
      payload: { name: 'Initech', slug: 'initech', region: 'US', owner: { email: 'owner@initech.test', password: TEST_PASSWORD } },
    });
    assert.equal(created.statusCode, 201, created.body);
    await t.login('owner@initech.test', 'initech');
  });
  after(() => t?.close());

  test('intact chains verify: one chain per tenant plus the platform chain, every event counted', async () => {
    const report = await t.verifyAudit();
    const tenants = await t.db.owner.selectFrom('tenants').select('id').execute();
    const events = await t.db.owner.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.deepEqual(report.breaks, []);
    assert.equal(report.ok, true);
    assert.equal(tenants.length, 3);
    assert.equal(report.chains, tenants.length + 1);
    assert.equal(report.events, Number(events.n));
    assert.ok((await chainOf(PLATFORM_CHAIN)).some((e) => e.action === 'tenant.created'));
  });

  test('30 concurrent writes in one tenant leave its chain gapless (1..N) and valid', async () => {
    const before = (await chainOf(globex)).length;
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => createCustomer(globex, globexOwner, `Concurrent ${i}`)));
    assert.deepEqual(responses.map((r) => r.statusCode), Array(30).fill(201));
    const chain = await chainOf(globex);
    assert.equal(chain.length, before + 30);
    assert.deepEqual(chain.map((e) => e.seq), Array.from({ length: chain.length }, (_, i) => i + 1));
    const head = await t.db.owner.selectFrom('audit_chain_heads').selectAll().where('chain_id', '=', globex).executeTakeFirstOrThrow();
    assert.equal(head.seq, chain.length);
    assert.equal(head.last_hash, chain.at(-1)!.hash);
    assert.deepEqual((await t.verifyAudit()).breaks, []);
  });

  describe('writers cannot rewrite history', () => {
    test('the app and platform roles get 42501 on UPDATE and DELETE, even inside their own context', async () => {
      const update = (tx: Tx) => tx.updateTable('audit_events').set({ action: 'tampered' }).execute();
      const remove = (tx: Tx) => tx.deleteFrom('audit_events').execute();
      assert.equal(await sqlstate(() => t.db.withWholeTenant(acme, update)), '42501');
      assert.equal(await sqlstate(() => t.db.withWholeTenant(acme, remove)), '42501');
      assert.equal(await sqlstate(() => t.db.withPlatform(update)), '42501');
      assert.equal(await sqlstate(() => t.db.withPlatform(remove)), '42501');
    });

    describe('a chain head moves only by appending (CON-SEC-009)', () => {
      const headOf = (chainId: string) => t.db.owner.selectFrom('audit_chain_heads').selectAll().where('chain_id', '=', chainId).executeTakeFirstOrThrow();
      const ctx = (): RequestContext => ({ correlationId: randomUUID(), ip: null, userAgent: null, actor: null, reach: 'all', log: createLogger('silent') });

      /** Head rewrites an intruder with the app role's grant (or the owner's) would try, each refused. */
      const rewrites = (head: { seq: number; last_hash: string }) =>
        ({
          'rewinding seq': { seq: head.seq - 1 },
          'rewinding seq and hash to the previous event': { seq: head.seq - 1, last_hash: 'to be set' },
          'jumping seq': { seq: head.seq + 2 },
          'a last_hash without a matching event': { seq: head.seq + 1, last_hash: 'e'.repeat(64) },
          'the same last_hash one seq on (no event there)': { seq: head.seq + 1 },
          'another tenant': { tenant_id: globex },
          'another chain': { chain_id: randomUUID() },
        }) as Record<string, { seq?: number; last_hash?: string; tenant_id?: string; chain_id?: string }>;

      async function previousHash(chainId: string, seq: number) {
        const event = await t.db.owner.selectFrom('audit_events').select('hash').where('chain_id', '=', chainId).where('seq', '=', seq).executeTakeFirstOrThrow();
        return event.hash;
      }

      test('in a tenant context transaction, the app role cannot rewind, jump or point its head anywhere', async () => {
        const head = await headOf(acme);
        for (const [what, change] of Object.entries(rewrites(head))) {
          if (change.last_hash === 'to be set') change.last_hash = await previousHash(acme, head.seq - 1);
          const state = await sqlstate(() => t.db.withWholeTenant(acme, (tx) => tx.updateTable('audit_chain_heads').set(change).where('chain_id', '=', acme).execute()));
          assert.equal(state, '42501', what);
        }
        assert.deepEqual(await headOf(acme), head);
      });

      test('the platform role cannot rewind the platform chain head', async () => {
        const head = await headOf(PLATFORM_CHAIN);
        const rewind = { seq: head.seq - 1, last_hash: await previousHash(PLATFORM_CHAIN, head.seq - 1) };
        assert.equal(await sqlstate(() => t.db.withPlatform((tx) => tx.updateTable('audit_chain_heads').set(rewind).where('chain_id', '=', PLATFORM_CHAIN).execute())), '42501');
        assert.deepEqual(await headOf(PLATFORM_CHAIN), head);
      });

      test('the owner is held to the same rules until it disables the triggers', async () => {
        const head = await headOf(acme);
        for (const [what, change] of Object.entries(rewrites(head))) {
          if (change.last_hash === 'to be set') change.last_hash = await previousHash(acme, head.seq - 1);
          assert.equal(await sqlstate(() => t.db.owner.updateTable('audit_chain_heads').set(change).where('chain_id', '=', acme).execute()), '42501', what);
        }
        // Nor may a head be removed, or a chain start anywhere but empty.
        assert.equal(await sqlstate(() => t.db.owner.deleteFrom('audit_chain_heads').where('chain_id', '=', acme).execute()), '42501');
        assert.equal(await sqlstate(() => sql`truncate audit_chain_heads`.execute(t.db.owner)), '42501');
        const chainId = randomUUID();
        assert.equal(await sqlstate(() => t.db.owner.insertInto('audit_chain_heads').values({ chain_id: chainId, tenant_id: null, seq: 5, last_hash: head.last_hash }).execute()), '42501');
        assert.equal(await sqlstate(() => t.db.withPlatform((tx) => tx.insertInto('audit_chain_heads').values({ chain_id: chainId, tenant_id: null, seq: 1, last_hash: '' }).execute())), '42501');
        assert.deepEqual(await headOf(acme), head);
        assert.equal((await t.verifyAudit()).ok, true);
      });

      test('deferring the event check to commit does not skip it', async () => {
        const head = await headOf(acme);
        const state = await sqlstate(() =>
          t.db.withWholeTenant(acme, async (tx) => {
            await sql`set constraints audit_chain_heads_match_event deferred`.execute(tx);
            await tx.updateTable('audit_chain_heads').set({ seq: head.seq + 1, last_hash: 'e'.repeat(64) }).where('chain_id', '=', acme).execute();
          }),
        );
        assert.equal(state, '42501');
        assert.deepEqual(await headOf(acme), head);
      });

      test('the append path still works: several events in one transaction, each advancing the head by one', async () => {
        const head = await headOf(acme);
        await t.db.withWholeTenant(acme, async (tx) => {
          for (const step of [1, 2, 3]) await recordAudit(tx, ctx(), { tenantId: acme, action: 'customer.updated', resourceType: 'customer', metadata: { step } });
        });
        const after = await headOf(acme);
        assert.equal(after.seq, head.seq + 3);
        assert.equal(after.last_hash, await previousHash(acme, after.seq));
        // A rolled-back append leaves the head where it was.
        await assert.rejects(
          t.db.withWholeTenant(acme, async (tx) => {
            await recordAudit(tx, ctx(), { tenantId: acme, action: 'customer.updated' });
            throw new Error('rolled back');
          }),
          /rolled back/,
        );
        assert.deepEqual(await headOf(acme), after);
        assert.deepEqual((await t.verifyAudit()).breaks, []);
      });
    });

    test('even the owner is stopped by the append-only trigger until it is disabled explicitly', async () => {
      assert.equal(await sqlstate(() => t.db.owner.updateTable('audit_events').set({ action: 'tampered' }).where('chain_id', '=', acme).execute()), '42501');
      assert.equal(await sqlstate(() => t.db.owner.deleteFrom('audit_events').where('chain_id', '=', acme).execute()), '42501');
      assert.equal((await t.verifyAudit()).ok, true);
    });
  });

  describe('tampering is found at the exact link', () => {
    const MIDDLE = 3;

    for (const [field, value] of [
      ['action', 'customer.exported'],
      ['outcome', 'denied'],
      ['actor_id', 'someone-else'],
      ['metadata', JSON.stringify({ note: 'rewritten' })],
      ['occurred_at', new Date('2020-01-01T00:00:00.000Z')],
      ['severity', 'critical'],
      ['category', 'security'],
      ['resource_id', 'another-resource'],
      ['ip', '198.51.100.7'],
      ['correlation_id', 'another-request'],
    ] as const) {
      test(`a changed ${field} breaks the chain with hash-mismatch at that event`, async () => {
        let target!: AuditRow;
        const breaks = await verifyTampered(acme, async (events) => {
          target = events[MIDDLE - 1]!;
          await t.db.owner.updateTable('audit_events').set({ [field]: value }).where('id', '=', target.id).execute();
        });
        assert.deepEqual(breaks, [{ chainId: acme, seq: MIDDLE, eventId: target.id, reason: 'hash-mismatch' }]);
      });
    }

    test('an event rewritten together with its own hash breaks at the next event (prev-hash-mismatch)', async () => {
      let next!: AuditRow;
      const breaks = await verifyTampered(acme, async (events) => {
        const target = events[MIDDLE - 1]!;
        next = events[MIDDLE]!;
        const forged = { ...target, action: 'customer.exported' };
        const hash = chainHash(target.prev_hash, target.seq, auditPayload(forged));
        await t.db.owner.updateTable('audit_events').set({ action: forged.action, hash }).where('id', '=', target.id).execute();
      });
      assert.deepEqual(breaks, [{ chainId: acme, seq: MIDDLE + 1, eventId: next.id, reason: 'prev-hash-mismatch' }]);
    });

    test('a deleted middle event is a sequence-gap at the next seq', async () => {
      let next!: AuditRow;
      const breaks = await verifyTampered(acme, async (events) => {
        next = events[MIDDLE]!;
        await t.db.owner.deleteFrom('audit_events').where('id', '=', events[MIDDLE - 1]!.id).execute();
      });
      assert.deepEqual(breaks, [{ chainId: acme, seq: MIDDLE + 1, eventId: next.id, reason: 'sequence-gap' }]);
    });

    test('a deleted last event no longer matches the chain head (head-mismatch)', async () => {
      let last!: AuditRow;
      const breaks = await verifyTampered(acme, async (events) => {
        last = events.at(-1)!;
        await t.db.owner.deleteFrom('audit_events').where('id', '=', last.id).execute();
      });
      assert.deepEqual(breaks, [{ chainId: acme, seq: last.seq, eventId: null, reason: 'head-mismatch' }]);
    });

    test('two events with swapped seq break at the first of them', async () => {
      let second!: AuditRow;
      const breaks = await verifyTampered(acme, async (events) => {
        const first = events[MIDDLE - 1]!;
        second = events[MIDDLE]!;
        // Through a free seq: (chain_id, seq) is unique.
        await t.db.owner.updateTable('audit_events').set({ seq: -1 }).where('id', '=', first.id).execute();
        await t.db.owner.updateTable('audit_events').set({ seq: first.seq }).where('id', '=', second.id).execute();
        await t.db.owner.updateTable('audit_events').set({ seq: second.seq }).where('id', '=', first.id).execute();
      });
      // The event now at the first position carries the second's link to its predecessor.
      assert.deepEqual(breaks, [{ chainId: acme, seq: MIDDLE, eventId: second.id, reason: 'prev-hash-mismatch' }]);
    });

    test('a rewritten chain head (seq or last hash) no longer matches the last event (head-mismatch)', async () => {
      const head = await t.db.owner.selectFrom('audit_chain_heads').selectAll().where('chain_id', '=', acme).executeTakeFirstOrThrow();
      // The head guard refuses such writes to every role: the owner switches it off first.
      await sql`alter table audit_chain_heads disable trigger user`.execute(t.db.owner);
      try {
        for (const change of [{ last_hash: 'f'.repeat(64) }, { seq: head.seq + 1 }]) {
          await t.db.owner.updateTable('audit_chain_heads').set(change).where('chain_id', '=', acme).execute();
          const report = await t.verifyAudit();
          assert.deepEqual(report.breaks, [{ chainId: acme, seq: head.seq + 1, eventId: null, reason: 'head-mismatch' }], JSON.stringify(change));
          await t.db.owner.updateTable('audit_chain_heads').set({ seq: head.seq, last_hash: head.last_hash }).where('chain_id', '=', acme).execute();
        }
      } finally {
        await t.db.owner.updateTable('audit_chain_heads').set({ seq: head.seq, last_hash: head.last_hash }).where('chain_id', '=', acme).execute();
        await sql`alter table audit_chain_heads enable trigger user`.execute(t.db.owner);
      }
      assert.equal((await t.verifyAudit()).ok, true);
    });

    test('each broken chain is reported, the platform chain included', async () => {
      const platformEvents = await chainOf(PLATFORM_CHAIN);
      const target = platformEvents[0]!;
      const original = await chainOf(globex);
      await sql`alter table audit_events disable trigger audit_events_no_update`.execute(t.db.owner);
      try {
        await t.db.owner.updateTable('audit_events').set({ action: 'tenant.updated' }).where('id', '=', target.id).execute();
        await t.db.owner.updateTable('audit_events').set({ actor_id: 'nobody' }).where('id', '=', original[0]!.id).execute();
        const report = await t.verifyAudit();
        assert.equal(report.ok, false);
        const expected: ChainBreak[] = [
          { chainId: PLATFORM_CHAIN, seq: 1, eventId: target.id, reason: 'hash-mismatch' },
          { chainId: globex, seq: 1, eventId: original[0]!.id, reason: 'hash-mismatch' },
        ];
        const byChain = (a: ChainBreak, b: ChainBreak) => a.chainId.localeCompare(b.chainId);
        assert.deepEqual([...report.breaks].sort(byChain), expected.sort(byChain));
      } finally {
        await t.db.owner.updateTable('audit_events').set({ action: target.action }).where('id', '=', target.id).execute();
        await t.db.owner.updateTable('audit_events').set({ actor_id: original[0]!.actor_id }).where('id', '=', original[0]!.id).execute();
        await sql`alter table audit_events enable trigger audit_events_no_update`.execute(t.db.owner);
      }
      assert.equal((await t.verifyAudit()).ok, true);
    });
  });
});
