import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildTestPlatform, eventually, type Session, type TestPlatform } from '../../../test/helpers.ts';

const NEW_PASSWORD = 'Invited-Passw0rd!';

interface InvitationBody {
  id: string;
  email: string;
  role_id: string;
  unit_id: string | null;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  expires_at: string;
  invited_by: string | null;
  sent_count: number;
  accepted_user_id: string | null;
}

describe('invitations: invite, mail, accept, resend, revoke, expiry (FR-TENANT-001, FR-TENANT-007)', () => {
  let t: TestPlatform;
  let acme: string;
  let base: string;
  let owner: Session;
  let admin: Session;
  let member: Session;
  let roles: Record<string, string>;

  const call = (session: Session, method: string, url: string, payload?: object) =>
    t.app.inject({ method: method as 'GET', url: `${base}${url}`, headers: session.headers, ...(payload ? { payload } : {}) });
  const invite = (email: string, role = 'member', session = owner, unitId?: string) =>
    call(session, 'POST', '/invitations', { email, role_id: roles[role], ...(unitId ? { unit_id: unitId } : {}) });
  const accept = (token: string, password = NEW_PASSWORD, name?: string) =>
    t.app.inject({ method: 'POST', url: '/v1/invitations/accept', payload: { token, password, ...(name ? { name } : {}) } });
  const invitation = async (id: string) =>
    ((await call(owner, 'GET', '/invitations?limit=200')).json().items as InvitationBody[]).find((item) => item.id === id)!;
  const usersWithEmail = (email: string) => t.db.owner.selectFrom('users').select('id').where('email', '=', email).execute();

  /** The newest link mailed to an address, as the worker delivered it to the dev mailbox. */
  async function mailedToken(email: string, count = 1): Promise<string> {
    const mails = await eventually(async () => {
      const rows = await t.db.owner.selectFrom('dev_mailbox').selectAll().where('recipient', '=', email).orderBy('created_at').execute();
      return rows.length >= count ? rows : null;
    });
    const mail = mails.at(-1)!;
    assert.equal(mail.tenant_id, acme);
    assert.equal(mail.subject, 'You are invited to Acme Corporation');
    const match = /http:\/\/localhost:3000\/#\/accept-invitation\?token=(\S+)/.exec(mail.body);
    assert.ok(match, mail.body);
    return decodeURIComponent(match[1]!);
  }

  before(async () => {
    t = await buildTestPlatform();
    acme = t.tenants.acme!.id;
    base = `/v1/tenants/${acme}`;
    owner = await t.login('owner@acme.demo.test', 'acme');
    member = await t.login('member@acme.demo.test', 'acme');
    await t.addUser('acme', 'admin@acme.demo.test', 'admin');
    admin = await t.login('admin@acme.demo.test', 'acme');
    roles = Object.fromEntries(((await call(owner, 'GET', '/roles')).json().items as { id: string; key: string }[]).map((r) => [r.key, r.id]));
  });
  after(() => t.close());

  test('the invitation is mailed with a working link; accepting creates the user with the role and signs it in', async () => {
    const email = 'New.Hire@Example.com';
    const created = await invite(email, 'auditor', admin);
    assert.equal(created.statusCode, 201, created.body);
    const body = created.json() as InvitationBody;
    assert.equal(body.email, 'new.hire@example.com', 'the address is normalised');
    assert.equal(body.status, 'pending');
    assert.equal(body.sent_count, 1);
    assert.equal(body.invited_by, (await t.app.inject({ method: 'GET', url: '/v1/me', headers: admin.headers })).json().id);
    const days = (Date.parse(body.expires_at) - Date.now()) / 86_400_000;
    assert.ok(days > 6.99 && days <= 7, `expires in 7 days by default, got ${days}`);
    assert.ok(!('token' in body) && !created.body.includes('token_hash'), 'the token is only mailed');

    const token = await mailedToken('new.hire@example.com');
    assert.match(token, new RegExp(`^${acme}\\.[A-Za-z0-9_-]{43}$`));
    const stored = await t.db.owner.selectFrom('invitations').select('token_hash').where('id', '=', body.id).executeTakeFirstOrThrow();
    assert.notEqual(stored.token_hash, token.split('.')[1], 'stored as a hash only');

    const accepted = await accept(token, NEW_PASSWORD, 'New Hire');
    assert.equal(accepted.statusCode, 201, accepted.body);
    const result = accepted.json();
    assert.equal(result.tenant_id, acme);
    assert.equal(result.tenant_slug, 'acme');
    const session = { headers: { authorization: `Bearer ${result.access_token}` } };
    const profile = (await t.app.inject({ method: 'GET', url: '/v1/me', headers: session.headers })).json();
    assert.equal(profile.id, result.user_id);
    assert.equal(profile.email, 'new.hire@example.com');
    assert.equal(profile.name, 'New Hire');
    assert.deepEqual(profile.roles, ['auditor']);
    await t.login('new.hire@example.com', 'acme', NEW_PASSWORD);

    const after = await invitation(body.id);
    assert.equal(after.status, 'accepted');
    assert.equal(after.accepted_user_id, result.user_id);
    const actions = await t.db.owner.selectFrom('audit_events').select(['action', 'actor_id']).where('resource_id', '=', body.id).orderBy('seq').execute();
    assert.deepEqual(actions.map((a) => a.action), ['invitation.created', 'invitation.accepted']);
    assert.equal(actions[1]!.actor_id, result.user_id);

    const reused = await accept(token);
    assert.equal(reused.statusCode, 410, 'single use');
    assert.equal((await usersWithEmail('new.hire@example.com')).length, 1);
  });

  test('a Member cannot invite (403); an Administrator cannot invite as Owner (403); nothing is created', async () => {
    const byMember = await invite('nope-1@example.com', 'member', member);
    assert.equal(byMember.statusCode, 403, byMember.body);
    const asOwner = await invite('nope-2@example.com', 'owner', admin);
    assert.equal(asOwner.statusCode, 403, asOwner.body);
    assert.equal(asOwner.json().type, '/problems/forbidden');
    const rows = await t.db.owner.selectFrom('invitations').select('id').where('email', 'in', ['nope-1@example.com', 'nope-2@example.com']).execute();
    assert.deepEqual(rows, []);
    assert.equal((await call(member, 'GET', '/invitations')).statusCode, 403);
    // The Owner may invite an Owner.
    assert.equal((await invite('second-owner@example.com', 'owner')).statusCode, 201);
  });

  test('expired, reused, revoked, unknown and malformed tokens all fail alike (410, no hint which)', async () => {
    const expiring = (await invite('expiring@example.com')).json() as InvitationBody;
    const expiredToken = await mailedToken('expiring@example.com');
    await t.db.owner.updateTable('invitations').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', expiring.id).execute();
    assert.equal((await invitation(expiring.id)).status, 'expired');

    const revoking = (await invite('revoked@example.com')).json() as InvitationBody;
    const revokedToken = await mailedToken('revoked@example.com');
    const revoked = await call(owner, 'DELETE', `/invitations/${revoking.id}`);
    assert.equal(revoked.statusCode, 204, revoked.body);
    assert.equal((await invitation(revoking.id)).status, 'revoked');
    assert.equal((await call(owner, 'DELETE', `/invitations/${revoking.id}`)).statusCode, 204, 'revoking again changes nothing');

    const using = (await invite('used@example.com')).json() as InvitationBody;
    const usedToken = await mailedToken('used@example.com');
    assert.equal((await accept(usedToken)).statusCode, 201);
    assert.ok(using.id);

    const unknown = `${acme}.${'A'.repeat(43)}`;
    const otherTenant = `${t.tenants.globex!.id}.${usedToken.split('.')[1]}`;
    const answers = [];
    for (const token of [expiredToken, usedToken, revokedToken, unknown, otherTenant, 'garbage', `${acme}.short`, `not-a-uuid.${'A'.repeat(43)}`]) {
      const response = await accept(token);
      assert.equal(response.statusCode, 410, `${token}: ${response.body}`);
      const problem = response.json();
      answers.push(JSON.stringify([problem.type, problem.title, problem.detail]));
    }
    assert.equal(new Set(answers).size, 1, `every failure reads the same: ${[...new Set(answers)].join(' | ')}`);
    assert.equal(JSON.parse(answers[0]!)[0], '/problems/invitation-invalid');
    assert.deepEqual(await usersWithEmail('expiring@example.com'), []);
    assert.deepEqual(await usersWithEmail('revoked@example.com'), []);
    assert.equal((await call(owner, 'DELETE', `/invitations/${using.id}`)).statusCode, 409, 'an accepted invitation cannot be revoked');
  });

  test('resend issues a new link and kills the old one; an expired invitation can be resent', async () => {
    const created = (await invite('resent@example.com')).json() as InvitationBody;
    const oldToken = await mailedToken('resent@example.com', 1);
    await t.db.owner.updateTable('invitations').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', created.id).execute();

    const resent = await call(owner, 'POST', `/invitations/${created.id}/resend`);
    assert.equal(resent.statusCode, 200, resent.body);
    assert.equal(resent.json().status, 'pending');
    assert.equal(resent.json().sent_count, 2);
    assert.ok(Date.parse(resent.json().expires_at) > Date.now() + 6 * 86_400_000);
    const newToken = await mailedToken('resent@example.com', 2);
    assert.notEqual(newToken, oldToken);

    assert.equal((await accept(oldToken)).statusCode, 410, 'the old link is dead');
    assert.equal((await accept(newToken)).statusCode, 201, 'the new one works');
    const again = await call(owner, 'POST', `/invitations/${created.id}/resend`);
    assert.equal(again.statusCode, 409, 'an accepted invitation is not resent');
    assert.equal((await call(member, 'POST', `/invitations/${created.id}/resend`)).statusCode, 403);
    assert.equal((await call(owner, 'POST', '/invitations/00000000-0000-4000-8000-000000000000/resend')).statusCode, 404);
    const events = await t.db.owner.selectFrom('audit_events').select('action').where('resource_id', '=', created.id).orderBy('seq').execute();
    assert.deepEqual(events.map((e) => e.action), ['invitation.created', 'invitation.resent', 'invitation.accepted']);
  });

  test('a link replaced by a resend, or of a revoked invitation, is refused (FR-VER-001: accepting verifies the address)', async () => {
    const created = (await invite('raced@example.com')).json() as InvitationBody;
    const oldToken = await mailedToken('raced@example.com', 1);
    await call(owner, 'POST', `/invitations/${created.id}/resend`);
    const newToken = await mailedToken('raced@example.com', 2);
    assert.equal((await accept(oldToken)).json().type, '/problems/invitation-invalid');
    await call(owner, 'DELETE', `/invitations/${created.id}`);
    assert.equal((await accept(newToken)).json().type, '/problems/invitation-invalid');

    const verified = (await invite('verified.by.mail@example.com')).json() as InvitationBody;
    const accepted = await accept(await mailedToken('verified.by.mail@example.com'));
    assert.equal(accepted.statusCode, 201, accepted.body);
    const user = await t.db.owner.selectFrom('users').select('email_verified_at').where('email', '=', verified.email).executeTakeFirstOrThrow();
    assert.ok(user.email_verified_at, 'the invitation came by mail to this address');
  });

  test('a weak password is refused with the unmet rules listed, and nothing is created', async () => {
    const created = (await invite('weak@example.com')).json() as InvitationBody;
    const token = await mailedToken('weak@example.com');
    const weak = await accept(token, 'password');
    assert.equal(weak.statusCode, 400, weak.body);
    const problem = weak.json();
    assert.equal(problem.type, '/problems/weak-password');
    assert.deepEqual(problem.unmet_rules.map((r: { rule: string }) => r.rule), ['min_length', 'character_classes', 'common_password']);
    const breached = await accept(token, 'P@ssw0rd1234');
    assert.deepEqual(breached.json().unmet_rules.map((r: { rule: string }) => r.rule), ['common_password'], 'a listed password with letters swapped and digits added');
    const phrase = 'Velvet-Canyon-Ribbon-42';
    const tooLong = await accept(token, Array.from({ length: 1100 }, (_, i) => phrase[i % phrase.length]).join(''));
    assert.equal(tooLong.statusCode, 400);
    assert.deepEqual(tooLong.json().unmet_rules.map((r: { rule: string }) => r.rule), ['max_length']);
    assert.deepEqual(await usersWithEmail('weak@example.com'), []);
    assert.equal((await invitation(created.id)).status, 'pending');
    assert.equal((await accept(token)).statusCode, 201, 'the link still works with a good password');
  });

  test('an address of a user of the organization, or with a pending invitation, is refused (409)', async () => {
    const existing = await invite('member@acme.demo.test');
    assert.equal(existing.statusCode, 409, existing.body);
    await t.addUser('acme', 'disabled-one@acme.demo.test', 'member', { status: 'disabled' });
    assert.equal((await invite('disabled-one@acme.demo.test')).statusCode, 409, 'a disabled user keeps its address');
    assert.equal((await invite('twice@example.com')).statusCode, 201);
    const twice = await invite('TWICE@example.com');
    assert.equal(twice.statusCode, 409, twice.body);
    assert.match(twice.json().detail, /resend/);
    const unknownRole = await call(owner, 'POST', '/invitations', { email: 'x@example.com', role_id: '00000000-0000-4000-8000-000000000000' });
    assert.equal(unknownRole.statusCode, 400);
    const badEmail = await call(owner, 'POST', '/invitations', { email: 'not an address', role_id: roles.member });
    assert.equal(badEmail.statusCode, 400);
  });

  test('once a pending invitation expired, the address may be invited anew', async () => {
    const first = (await invite('lapsed@example.com')).json() as InvitationBody;
    await t.db.owner.updateTable('invitations').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', first.id).execute();
    const second = await invite('lapsed@example.com');
    assert.equal(second.statusCode, 201, second.body);
    assert.equal((await invitation(first.id)).status, 'expired');
    const expiredList = (await call(owner, 'GET', '/invitations?status=expired&limit=200')).json().items as InvitationBody[];
    assert.ok(expiredList.some((i) => i.id === first.id));
    const pendingList = (await call(owner, 'GET', '/invitations?status=pending&limit=200')).json().items as InvitationBody[];
    assert.ok(pendingList.some((i) => i.id === second.json().id) && !pendingList.some((i) => i.id === first.id));
    assert.equal((await call(owner, 'POST', `/invitations/${first.id}/resend`)).statusCode, 409, 'reviving it would make two live invitations');
  });

  test('the expiry is configurable per organization (1 to 30 days, users.manage)', async () => {
    const set = await call(owner, 'PUT', '/invitation-settings', { expiry_days: 3 });
    assert.equal(set.statusCode, 200, set.body);
    assert.equal(set.json().expiry_days, 3);
    const created = (await invite('three-days@example.com')).json() as InvitationBody;
    const days = (Date.parse(created.expires_at) - Date.now()) / 86_400_000;
    assert.ok(days > 2.99 && days <= 3, `got ${days}`);
    assert.equal((await call(owner, 'GET', '/invitations')).json().expiry_days, 3);
    for (const expiry_days of [0, 31, 'seven']) {
      assert.equal((await call(owner, 'PUT', '/invitation-settings', { expiry_days })).statusCode, 400);
    }
    assert.equal((await call(member, 'PUT', '/invitation-settings', { expiry_days: 30 })).statusCode, 403);
    assert.equal((await call(owner, 'PUT', '/invitation-settings', { expiry_days: 7 })).json().version, 2);
    const globex = await t.login('owner@globex.demo.test', 'globex');
    const globexList = await t.app.inject({ method: 'GET', url: `/v1/tenants/${t.tenants.globex!.id}/invitations`, headers: globex.headers });
    assert.equal(globexList.json().expiry_days, 7, "another organization's setting is its own");
  });

  test('concurrent accepts of one token create exactly one user', async () => {
    await invite('concurrent@example.com');
    const token = await mailedToken('concurrent@example.com');
    const answers = await Promise.all([accept(token), accept(token), accept(token)]);
    const codes = answers.map((a) => a.statusCode).sort();
    assert.deepEqual(codes, [201, 410, 410], answers.map((a) => a.body).join('\n'));
    assert.equal((await usersWithEmail('concurrent@example.com')).length, 1);
  });

  test('an invitation into a unit gives the role in that unit; deleting the role withdraws pending invitations', async () => {
    const unit = (await call(owner, 'POST', '/units', { name: 'Invited unit' })).json().id as string;
    const created = await invite('unit-invitee@example.com', 'member', owner, unit);
    assert.equal(created.statusCode, 201, created.body);
    const accepted = (await accept(await mailedToken('unit-invitee@example.com'))).json();
    const user = (await call(owner, 'GET', `/users/${accepted.user_id}`)).json();
    assert.deepEqual(user.roles.map((r: { key: string; unit_id: string }) => [r.key, r.unit_id]), [['member', unit]]);

    const custom = (await call(owner, 'POST', '/roles', { name: 'Short-lived', permissions: ['customers.read'] })).json().id as string;
    const pending = (await call(owner, 'POST', '/invitations', { email: 'withdrawn@example.com', role_id: custom })).json() as InvitationBody;
    const token = await mailedToken('withdrawn@example.com');
    assert.equal((await call(owner, 'DELETE', `/roles/${custom}`)).statusCode, 204);
    assert.equal(await invitation(pending.id), undefined);
    assert.equal((await accept(token)).statusCode, 410);
  });

  test('accepting needs no sign-in and reveals nothing about other tenants; a user signed in elsewhere is unaffected', async () => {
    await invite('anonymous@example.com');
    const token = await mailedToken('anonymous@example.com');
    const response = await t.app.inject({ method: 'POST', url: '/v1/invitations/accept', headers: member.headers, payload: { token, password: NEW_PASSWORD } });
    assert.equal(response.statusCode, 201, response.body);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me', headers: member.headers })).json().email, 'member@acme.demo.test');
    await t.login('anonymous@example.com', 'acme', NEW_PASSWORD);
  });
});

describe('the default expiry of invitations (users.invitation_expiry_days)', () => {
  test("an organization without a setting of its own gets the product's days; its own setting still wins", async () => {
    const t = await buildTestPlatform({}, { worker: false, policy: { users: { invitation_expiry_days: 2 } } });
    try {
      const base = `/v1/tenants/${t.tenants.acme!.id}`;
      const owner = await t.login('owner@acme.demo.test', 'acme');
      const call = (method: string, url: string, payload?: object) => t.app.inject({ method: method as 'GET', url: `${base}${url}`, headers: owner.headers, ...(payload ? { payload } : {}) });
      const roles = (await call('GET', '/roles')).json().items as { id: string; key: string }[];
      const member = roles.find((role) => role.key === 'member')!.id;
      const daysOf = (body: { expires_at: string }) => (Date.parse(body.expires_at) - Date.now()) / 86_400_000;
      assert.equal((await call('GET', '/invitations')).json().expiry_days, 2);
      const first = await call('POST', '/invitations', { email: 'two.days@example.com', role_id: member });
      assert.equal(first.statusCode, 201, first.body);
      assert.ok(daysOf(first.json()) > 1.99 && daysOf(first.json()) <= 2, `expires in ${daysOf(first.json())} days`);
      assert.equal((await call('PUT', '/invitation-settings', { expiry_days: 5 })).statusCode, 200);
      const second = await call('POST', '/invitations', { email: 'five.days@example.com', role_id: member });
      assert.ok(daysOf(second.json()) > 4.99 && daysOf(second.json()) <= 5);
    } finally {
      await t.close();
    }
  });
});
