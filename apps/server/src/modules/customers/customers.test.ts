import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestPlatform, eventually, type Session, type TestPlatform } from '../../../test/helpers.ts';

describe('customers and orders (sample business module)', () => {
  let t: TestPlatform;
  let owner: Session;
  let readonly: Session;
  let base: string;

  before(async () => {
    t = await buildTestPlatform();
    owner = await t.login('owner@acme.demo.test', 'acme');
    base = `/v1/tenants/${t.tenants.acme!.id}`;
    await t.addUser('acme', 'viewer@acme.demo.test', 'readonly');
    readonly = await t.login('viewer@acme.demo.test', 'acme');
  });
  after(() => t.close());

  test('create, read, update with version, stale version 409, soft delete 404', async () => {
    const created = await t.app.inject({ method: 'POST', url: `${base}/customers`, headers: owner.headers, payload: { name: 'Edsger Dijkstra', email: 'ed@example.com' } });
    assert.equal(created.statusCode, 201, created.body);
    const customer = created.json();
    assert.equal(customer.version, 1);

    const updated = await t.app.inject({ method: 'PATCH', url: `${base}/customers/${customer.id}`, headers: owner.headers, payload: { name: 'E. W. Dijkstra', version: 1 } });
    assert.equal(updated.statusCode, 200, updated.body);
    assert.equal(updated.json().version, 2);

    const stale = await t.app.inject({ method: 'PATCH', url: `${base}/customers/${customer.id}`, headers: owner.headers, payload: { name: 'Stale', version: 1 } });
    assert.equal(stale.statusCode, 409);
    assert.equal(stale.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(stale.json().type, '/problems/version-conflict');

    const removed = await t.app.inject({ method: 'DELETE', url: `${base}/customers/${customer.id}`, headers: owner.headers });
    assert.equal(removed.statusCode, 204);
    const gone = await t.app.inject({ method: 'GET', url: `${base}/customers/${customer.id}`, headers: owner.headers });
    assert.equal(gone.statusCode, 404);
    const withDeleted = await t.app.inject({ method: 'GET', url: `${base}/customers?include_deleted=true&limit=200`, headers: owner.headers });
    assert.ok(withDeleted.json().items.some((c: { id: string; deleted_at: string | null }) => c.id === customer.id && c.deleted_at));

    const actions = await t.db.owner.selectFrom('audit_events').select('action').where('resource_id', '=', customer.id).orderBy('seq').execute();
    assert.deepEqual(actions.map((a) => a.action), ['customer.created', 'customer.updated', 'customer.deleted']);
  });

  test('pagination walks every row once, filters by name', async () => {
    for (let i = 0; i < 5; i++) {
      await t.app.inject({ method: 'POST', url: `${base}/customers`, headers: owner.headers, payload: { name: `Paged ${i}` } });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `${base}/customers?limit=2&q=paged${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await t.app.inject({ method: 'GET', url, headers: owner.headers });
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json() as { items: { name: string }[]; next_cursor: string | null };
      seen.push(...body.items.map((c) => c.name));
      cursor = body.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, ['Paged 0', 'Paged 1', 'Paged 2', 'Paged 3', 'Paged 4']);
    const bad = await t.app.inject({ method: 'GET', url: `${base}/customers?cursor=garbage`, headers: owner.headers });
    assert.equal(bad.statusCode, 400);
  });

  test('an order updates its customer summary through the job, in the tenant context', async () => {
    const customer = (await t.app.inject({ method: 'POST', url: `${base}/customers`, headers: owner.headers, payload: { name: 'Buyer' } })).json();
    const order = await t.app.inject({ method: 'POST', url: `${base}/orders`, headers: owner.headers, payload: { customer_id: customer.id, total_cents: 1250, currency: 'USD' } });
    assert.equal(order.statusCode, 201, order.body);
    await eventually(async () => {
      const read = (await t.app.inject({ method: 'GET', url: `${base}/customers/${customer.id}`, headers: owner.headers })).json();
      return read.order_count === 1 && read.order_total_cents === 1250;
    });
    const unknownCustomer = await t.app.inject({
      method: 'POST',
      url: `${base}/orders`,
      headers: owner.headers,
      payload: { customer_id: '00000000-0000-4000-8000-000000000000', total_cents: 1, currency: 'USD' },
    });
    assert.equal(unknownCustomer.statusCode, 400);
  });

  test('the Read-only role reads but cannot write', async () => {
    const list = await t.app.inject({ method: 'GET', url: `${base}/customers`, headers: readonly.headers });
    assert.equal(list.statusCode, 200);
    const write = await t.app.inject({ method: 'POST', url: `${base}/customers`, headers: readonly.headers, payload: { name: 'Nope' } });
    assert.equal(write.statusCode, 403);
    assert.equal(write.json().type, '/problems/forbidden');
    const count = await t.db.owner.selectFrom('customers').select((eb) => eb.fn.countAll<number>().as('n')).where('name', '=', 'Nope').executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 0);
  });
});
