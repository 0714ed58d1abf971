import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { nameThrottleKeys } from '../../kernel/db/throttle-keys.ts';
import { buildTestPlatform, eventually, TEST_PASSWORD, type Session, type TestPlatform } from '../../../test/helpers.ts';

interface Mail {
  recipient: string;
  subject: string;
  body: string;
  channel: string;
  tenant_id: string | null;
}

describe('email verification, the unverified gate and phone verification (FR-VER-001, FR-VER-002, CON-SEC-009)', () => {
  let t: TestPlatform;
  let acme: string;
  let globex: string;
  let owner: Session;

  const inject = (session: Session | null, method: string, url: string, payload?: object) =>
    t.app.inject({ method: method as 'GET', url, headers: session?.headers ?? {}, ...(payload ? { payload } : {}) });
  const me = (session: Session) => inject(session, 'GET', '/v1/me');
  const mails = (recipient: string, subject?: string) => {
    let query = t.db.owner.selectFrom('dev_mailbox').select(['recipient', 'subject', 'body', 'channel', 'tenant_id']).where('recipient', '=', recipient);
    if (subject) query = query.where('subject', '=', subject);
    return query.orderBy('created_at').execute() as Promise<Mail[]>;
  };
  /** The newest verification mail to an address once `count` arrived: its link token and code. */
  async function verificationMail(recipient: string, count = 1) {
    const delivered = await eventually(async () => {
      const rows = await mails(recipient, 'Verify your email address');
      return rows.length >= count ? rows : null;
    });
    const mail = delivered.at(-1)!;
    const link = /http:\/\/localhost:3000\/#\/verify-email\?token=(\S+)/.exec(mail.body);
    const code = /signed in: (\d{6})/.exec(mail.body);
    assert.ok(link && code, mail.body);
    return { token: decodeURIComponent(link[1]!), code: code[1]!, mail };
  }
  async function phoneCode(recipient: string, count = 1) {
    const delivered = await eventually(async () => {
      const rows = await mails(recipient, 'Your verification code');
      return rows.length >= count ? rows : null;
    });
    const mail = delivered.at(-1)!;
    return { code: /code is (\d{6})/.exec(mail.body)![1]!, mail };
  }
  const events = (userId: string, action: string) =>
    t.db.owner.selectFrom('audit_events').select(['action', 'category', 'severity', 'outcome', 'metadata']).where('resource_id', '=', userId).where('action', '=', action).execute();
  const userRow = (id: string) => t.db.owner.selectFrom('users').select(['email_verified_at', 'phone', 'phone_verified_at']).where('id', '=', id).executeTakeFirstOrThrow();
  const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

  /** A new unverified member of acme, signed in, with a verification mail sent. */
  async function unverified(email: string, tenant = 'acme') {
    const id = await t.addUser(tenant, email, 'member', { verified: false });
    const session = await t.login(email, tenant);
    return { id, session };
  }

  before(async () => {
    t = await buildTestPlatform({}, { policy: { identity: { login_failure_delay_ms: 0 } } });
    acme = t.tenants.acme!.id;
    globex = t.tenants.globex!.id;
    owner = await t.login('owner@acme.demo.test', 'acme');
  });
  after(() => t?.close());

  test('FR-VER-001: an unverified user signs in, every route but the allowed ones answers 403 email-unverified, the link verifies on every node at once', async () => {
    const { id, session } = await unverified('fresh@acme.example');
    const profile = (await me(session)).json();
    assert.equal(profile.email_verified, false);
    assert.equal(profile.verification_required, 'email');

    const refused = await inject(session, 'GET', `/v1/tenants/${acme}/customers`);
    assert.equal(refused.statusCode, 403);
    assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
    assert.equal(refused.json().type, '/problems/email-unverified');
    assert.ok(refused.json().correlation_id);
    for (const [method, url] of [['GET', '/v1/me/sessions'], ['GET', '/v1/me/devices']] as const) {
      assert.equal((await inject(session, method, url)).statusCode, 200, `${method} ${url} answers unverified users`);
    }

    const sent = await inject(session, 'POST', '/v1/me/email-verification');
    assert.equal(sent.statusCode, 202, sent.body);
    assert.equal(sent.json().expires_in, 1800);
    const { token, mail } = await verificationMail('fresh@acme.example');
    assert.equal(mail.tenant_id, acme);
    assert.equal(mail.channel, 'email');
    assert.match(token, new RegExp(`^${acme}\\.[A-Za-z0-9_-]{43}$`));
    const stored = await t.db.owner.selectFrom('verification_codes').select(['code_hash', 'token_hash']).where('user_id', '=', id).execute();
    assert.ok(stored.every((row) => !mail.body.includes(row.code_hash) && row.token_hash !== token.split('.')[1]), 'only hashes are stored');

    // The session is cached as unverified: confirming must announce the change.
    const confirmed = await inject(null, 'POST', '/v1/auth/email-verification/confirm', { token });
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    assert.equal((await inject(session, 'GET', `/v1/tenants/${acme}/customers`)).statusCode, 200, 'the same session passes at once');
    assert.equal((await me(session)).json().verification_required, null);
    assert.ok((await userRow(id)).email_verified_at);

    const reused = await inject(null, 'POST', '/v1/auth/email-verification/confirm', { token });
    assert.equal(reused.statusCode, 410, 'a link works once');
    assert.equal(reused.json().type, '/problems/verification-link-invalid');
    assert.deepEqual((await events(id, 'verification.verified')).map((e) => e.metadata), [{ purpose: 'email', code_id: (await t.db.owner.selectFrom('verification_codes').select('id').where('user_id', '=', id).executeTakeFirstOrThrow()).id, by: 'link' }]);
    assert.equal((await inject(session, 'POST', '/v1/me/email-verification')).statusCode, 409, 'nothing to send once verified');
  });

  test('FR-VER-001: the code from the same mail verifies while signed in; a new send replaces the previous code', async () => {
    const { id, session } = await unverified('coder@acme.example');
    await inject(session, 'POST', '/v1/me/email-verification');
    const first = await verificationMail('coder@acme.example');
    await inject(session, 'POST', '/v1/me/email-verification');
    const second = await verificationMail('coder@acme.example', 2);
    if (first.code !== second.code) {
      const old = await inject(session, 'POST', '/v1/me/email-verification/confirm', { code: first.code });
      assert.equal(old.json().type, '/problems/verification-code-invalid', 'the replaced code is dead');
    }
    assert.equal((await inject(null, 'POST', '/v1/auth/email-verification/confirm', { token: first.token })).statusCode, 410, 'so is the replaced link');
    const bad = await inject(session, 'POST', '/v1/me/email-verification/confirm', { code: '12ab56' });
    assert.equal(bad.statusCode, 400, 'a code is six digits');
    const ok = await inject(session, 'POST', '/v1/me/email-verification/confirm', { code: second.code });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.ok((await userRow(id)).email_verified_at);
    const reuse = await inject(null, 'POST', '/v1/auth/email-verification/confirm', { token: second.token });
    assert.equal(reuse.statusCode, 410, 'the code and link of one mail are used together');
  });

  test('FR-VER-001: 3 sends an hour; past that 429 with Retry-After and nothing is sent', async () => {
    const { id, session } = await unverified('sender@acme.example');
    for (let i = 0; i < 3; i++) assert.equal((await inject(session, 'POST', '/v1/me/email-verification')).statusCode, 202);
    const fourth = await inject(session, 'POST', '/v1/me/email-verification');
    assert.equal(fourth.statusCode, 429);
    assert.ok(Number(fourth.headers['retry-after']) > 3000);
    await verificationMail('sender@acme.example', 3);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal((await mails('sender@acme.example')).length, 3);
    assert.equal((await events(id, 'verification.failed')).length, 1);
  });

  test('attack: 20 parallel guesses count exactly; past 5 the account is locked 30 minutes with a medium security event, even for the right code', async () => {
    const { id, session } = await unverified('brute@acme.example');
    await inject(session, 'POST', '/v1/me/email-verification');
    const { code } = await verificationMail('brute@acme.example');
    const answers = await Promise.all(Array.from({ length: 20 }, () => inject(session, 'POST', '/v1/me/email-verification/confirm', { code: wrongCode(code) })));
    const statuses = answers.map((a) => a.statusCode);
    assert.equal(statuses.filter((s) => s === 400).length, 5, `exactly 5 tries are judged: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 15);
    assert.ok(answers.filter((a) => a.statusCode === 429).every((a) => Number(a.headers['retry-after']) > 1700));
    const right = await inject(session, 'POST', '/v1/me/email-verification/confirm', { code });
    assert.equal(right.statusCode, 429, 'locked: not even the right code is judged');
    assert.equal((await userRow(id)).email_verified_at, null);
    const locks = await events(id, 'security.verification_locked');
    assert.equal(locks.length, 1);
    assert.equal(locks[0]!.category, 'security');
    assert.equal(locks[0]!.severity, 'medium');
    assert.equal((await inject(session, 'POST', '/v1/me/email-verification')).statusCode, 429, 'no new code during the lockout');
    // After the lockout a fresh allowance starts.
    await t.db.owner.updateTable('verification_limits').set({ locked_until: new Date(Date.now() - 1000) }).where('user_id', '=', id).execute();
    assert.equal((await inject(session, 'POST', '/v1/me/email-verification/confirm', { code })).statusCode, 200);
  });

  test('attack: an expired code or link is refused', async () => {
    const { id, session } = await unverified('late@acme.example');
    await inject(session, 'POST', '/v1/me/email-verification');
    const { code, token } = await verificationMail('late@acme.example');
    await t.db.owner.updateTable('verification_codes').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', id).execute();
    assert.equal((await inject(session, 'POST', '/v1/me/email-verification/confirm', { code })).json().type, '/problems/verification-code-invalid');
    assert.equal((await inject(null, 'POST', '/v1/auth/email-verification/confirm', { token })).json().type, '/problems/verification-link-invalid');
    assert.equal((await userRow(id)).email_verified_at, null);
  });

  test('attack: a link of tenant A presented as tenant B, malformed or unknown links all fail alike and verify nothing', async () => {
    const { id, session } = await unverified('crossing@acme.example');
    await inject(session, 'POST', '/v1/me/email-verification');
    const { token } = await verificationMail('crossing@acme.example');
    const secret = token.split('.')[1]!;
    const answers = await Promise.all(
      [`${globex}.${secret}`, `platform.${secret}`, `${acme}.${'A'.repeat(43)}`, 'nonsense', `${acme}.${secret}.x`].map((candidate) =>
        inject(null, 'POST', '/v1/auth/email-verification/confirm', { token: candidate }),
      ),
    );
    for (const answer of answers) {
      assert.equal(answer.statusCode, 410, answer.body);
      assert.equal(answer.json().type, '/problems/verification-link-invalid');
      assert.ok(!/sql|select|tenant_id|stack/i.test(answer.body), 'CON-SEC-009: nothing internal leaks');
    }
    assert.equal((await userRow(id)).email_verified_at, null);
    // Another tenant's user cannot use acme's code either: codes are looked up for the caller only.
    const other = await unverified('crossing@globex.example', 'globex');
    const { code } = await verificationMail('crossing@acme.example');
    assert.equal((await inject(other.session, 'POST', '/v1/me/email-verification/confirm', { code })).statusCode, 400);
    assert.equal((await inject(null, 'POST', '/v1/auth/email-verification/confirm', { token })).statusCode, 200, 'the genuine link still works');
  });

  test("attack: a look-alike address never receives another account's code", async () => {
    await t.addUser('acme', 'victim@example.com', 'member', { verified: false });
    // A Cyrillic "і" in the local part, a digit 1 for l in the domain: different accounts.
    const lookalikes = ['vіctim@example.com', 'victim@examp1e.com'];
    for (const email of lookalikes) {
      const { session } = await unverified(email);
      assert.equal((await inject(session, 'POST', '/v1/me/email-verification')).statusCode, 202);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal((await mails('victim@example.com')).length, 0, 'the victim got no mail');
    const victim = await t.db.owner.selectFrom('users').select('email_verified_at').where('email', '=', 'victim@example.com').executeTakeFirstOrThrow();
    assert.equal(victim.email_verified_at, null);
    for (const email of lookalikes) assert.equal((await mails(email, 'Verify your email address')).length, 1, `${email} got its own mail`);
  });

  test('platform staff are gated the same way; their link names the platform', async () => {
    const hash = await t.running.platform.passwords.hash(TEST_PASSWORD);
    const id = await t.db.withPlatform(async (tx) =>
      (await tx.insertInto('users').values({ tenant_id: null, email: 'new-staff@demo.test', platform_role: 'support', password_hash: hash }).returning('id').executeTakeFirstOrThrow()).id,
    );
    const staff = await t.login('new-staff@demo.test');
    const refused = await inject(staff, 'GET', '/v1/platform/tenants');
    assert.equal(refused.json().type, '/problems/email-unverified');
    assert.equal((await inject(staff, 'POST', '/v1/me/email-verification')).statusCode, 202);
    const { token, mail } = await verificationMail('new-staff@demo.test');
    assert.equal(mail.tenant_id, null);
    assert.match(token, /^platform\.[A-Za-z0-9_-]{43}$/);
    assert.equal((await inject(null, 'POST', '/v1/auth/email-verification/confirm', { token: `${acme}.${token.split('.')[1]}` })).statusCode, 410);
    assert.equal((await inject(null, 'POST', '/v1/auth/email-verification/confirm', { token })).statusCode, 200);
    assert.equal((await inject(staff, 'GET', '/v1/platform/tenants')).statusCode, 200);
    assert.ok((await userRow(id)).email_verified_at);
  });

  test('a new tenant Owner gets a verification mail and is gated until verified', async () => {
    const operator = await t.login('operator@demo.test');
    const created = await inject(operator, 'POST', '/v1/platform/tenants', { name: 'Hooli', slug: 'hooli', region: 'US', owner: { email: 'Gavin@Hooli.example', password: TEST_PASSWORD } });
    assert.equal(created.statusCode, 201, created.body);
    const hooliOwner = await t.login('gavin@hooli.example', 'hooli');
    assert.equal((await me(hooliOwner)).json().verification_required, 'email');
    assert.equal((await inject(hooliOwner, 'GET', `/v1/tenants/${created.json().id}/roles`)).json().type, '/problems/email-unverified');
    const { code } = await verificationMail('gavin@hooli.example');
    assert.equal((await inject(hooliOwner, 'POST', '/v1/me/email-verification/confirm', { code })).statusCode, 200);
    assert.equal((await inject(hooliOwner, 'GET', `/v1/tenants/${created.json().id}/roles`)).statusCode, 200);
  });

  test('FR-VER-002: a phone number (E.164) gets a 6-digit code over the chosen channel; verifying is single use; a new number is unverified', async () => {
    const id = await t.addUser('acme', 'phoner@acme.example', 'member');
    const session = await t.login('phoner@acme.example', 'acme');
    for (const phone of ['12345', '+0123456789', '+1 (415) 555-01234567890', 'tel:+14155550123']) {
      const bad = await inject(session, 'PUT', '/v1/me/phone', { phone, channel: 'sms' });
      assert.equal(bad.statusCode, 400, `${phone}: ${bad.body}`);
    }
    assert.equal((await userRow(id)).phone, null, 'a refused number changes nothing');

    const set = await inject(session, 'PUT', '/v1/me/phone', { phone: '+1 (415) 555-0123', channel: 'whatsapp' });
    assert.equal(set.statusCode, 200, set.body);
    assert.deepEqual(set.json(), { phone: '+14155550123', phone_verified: false, channel: 'whatsapp', expires_in: 1800 });
    const { code, mail } = await phoneCode('+14155550123');
    assert.equal(mail.channel, 'whatsapp');
    assert.equal((await inject(session, 'POST', '/v1/me/phone/verify', { code: wrongCode(code) })).statusCode, 400);
    assert.equal((await inject(session, 'POST', '/v1/me/phone/verify', { code })).statusCode, 200);
    assert.equal((await inject(session, 'POST', '/v1/me/phone/verify', { code })).statusCode, 400, 'single use');
    assert.ok((await userRow(id)).phone_verified_at);
    assert.equal((await me(session)).json().phone_verified, true);
    assert.equal((await inject(session, 'PUT', '/v1/me/phone', { phone: '+14155550123' })).statusCode, 409, 'verified already');

    // Changing the number unverifies it; the code goes by email when asked.
    const changed = await inject(session, 'PUT', '/v1/me/phone', { phone: '+442071838750', channel: 'email' });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.deepEqual(await userRow(id).then((row) => [row.phone, row.phone_verified_at]), ['+442071838750', null]);
    const byMail = await phoneCode('phoner@acme.example');
    assert.equal(byMail.mail.channel, 'email');
    assert.equal((await inject(session, 'POST', '/v1/me/phone/verify', { code: byMail.code })).statusCode, 200);
    const actions = (await t.db.owner.selectFrom('audit_events').select('action').where('resource_id', '=', id).orderBy('seq').execute()).map((e) => e.action);
    assert.deepEqual(actions.filter((a) => a.startsWith('verification.')), ['verification.sent', 'verification.failed', 'verification.verified', 'verification.failed', 'verification.sent', 'verification.verified']);
  });

  test('FR-VER-002: 3 sends and 5 verifies an hour per user, then a 30-minute lockout with a medium security event', async () => {
    const id = await t.addUser('acme', 'phone-brute@acme.example', 'member');
    const session = await t.login('phone-brute@acme.example', 'acme');
    for (let i = 0; i < 3; i++) assert.equal((await inject(session, 'PUT', '/v1/me/phone', { phone: '+14155550199', channel: 'sms' })).statusCode, 200);
    const fourth = await inject(session, 'PUT', '/v1/me/phone', { phone: '+14155550199', channel: 'sms' });
    assert.equal(fourth.statusCode, 429);
    assert.ok(fourth.headers['retry-after']);
    const { code } = await phoneCode('+14155550199', 3);
    const answers = await Promise.all(Array.from({ length: 20 }, () => inject(session, 'POST', '/v1/me/phone/verify', { code: wrongCode(code) })));
    assert.equal(answers.filter((a) => a.statusCode === 400).length, 5);
    assert.equal(answers.filter((a) => a.statusCode === 429).length, 15);
    assert.equal((await inject(session, 'POST', '/v1/me/phone/verify', { code })).statusCode, 429);
    const locks = await events(id, 'security.verification_locked');
    assert.deepEqual(locks.map((l) => [l.category, l.severity, l.outcome]), [['security', 'medium', 'denied']]);
    assert.equal((await userRow(id)).phone_verified_at, null);
  });

  test('attack: three accounts in two tenants send codes to one number: the fourth is 429 with Retry-After, a security event, and nothing is sent', async () => {
    const pumped = '+14155550777';
    const accounts = [];
    for (const [tenant, email] of [['acme', 'pump-a@acme.example'], ['acme', 'pump-b@acme.example'], ['globex', 'pump-c@globex.example']] as const) {
      const id = await t.addUser(tenant, email, 'member');
      accounts.push({ id, session: await t.login(email, tenant) });
    }
    for (const { session } of accounts) {
      assert.equal((await inject(session, 'PUT', '/v1/me/phone', { phone: pumped, channel: 'sms' })).statusCode, 200);
    }
    // Each account is within its own allowance (3 an hour): only the number's cap refuses.
    for (const { session } of [accounts[2]!, accounts[0]!]) {
      const fourth = await inject(session, 'PUT', '/v1/me/phone', { phone: '+1 415 555 0777', channel: 'whatsapp' });
      assert.equal(fourth.statusCode, 429, fourth.body);
      assert.equal(fourth.json().type, '/problems/rate-limited');
      assert.ok(Number(fourth.headers['retry-after']) > 3000);
      assert.equal(fourth.json().retry_after, Number(fourth.headers['retry-after']));
    }
    const capped = await events(accounts[2]!.id, 'security.verification_send_capped');
    assert.deepEqual(capped.map((e) => [e.category, e.severity, e.outcome, e.metadata]), [['security', 'medium', 'denied', { purpose: 'phone', channel: 'whatsapp', caps: ['destination_hour'] }]]);
    const codes = await t.db.owner.selectFrom('verification_codes').select('id').where('target', '=', pumped).execute();
    assert.equal(codes.length, 3, 'no code was made for the refused sends');
    await phoneCode(pumped, 3);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal((await mails(pumped)).length, 3, 'and no message went out');
    // The counters name no number: they hold keyed hashes only.
    const counters = (await sql`select * from verification_send_counts`.execute(t.db.owner)).rows;
    assert.ok(counters.length > 0 && !JSON.stringify(counters).includes('4155550777'));
    // The app role reaches only the counters it names (which takes the key): it cannot list or reset them.
    const key = t.running.platform.throttleKeys.of('verification destination hour', pumped);
    const visible = (named: boolean) =>
      t.db.withWholeTenant(acme, async (tx) => {
        if (named) await nameThrottleKeys(tx, [key]);
        return (await sql<{ sends: number }>`select sends from verification_send_counts`.execute(tx)).rows;
      });
    assert.deepEqual(await visible(false), []);
    assert.deepEqual(await visible(true), [{ sends: 3 }]);
    const reset = await t.db.withWholeTenant(acme, (tx) => sql`update verification_send_counts set sends = 0`.execute(tx));
    assert.equal(Number(reset.numAffectedRows), 0);
  });

  test('FR-VER-002: a tenant that requires a phone gates its members with 403 phone-unverified, on every cached session at once', async () => {
    const session = await t.login('member@acme.demo.test', 'acme');
    assert.equal((await inject(session, 'GET', `/v1/tenants/${acme}/customers`)).statusCode, 200);
    const member = await t.login('member@acme.demo.test', 'acme');
    assert.equal((await inject(member, 'PUT', `/v1/tenants/${acme}/verification-policy`, { require_phone: true })).statusCode, 403, 'settings.manage is needed');
    const policy = await inject(owner, 'PUT', `/v1/tenants/${acme}/verification-policy`, { require_phone: true, default_channel: 'whatsapp' });
    assert.equal(policy.statusCode, 200, policy.body);
    assert.deepEqual(policy.json(), { tenant_id: acme, require_phone: true, default_channel: 'whatsapp', version: 1 });
    try {
      const gated = await inject(session, 'GET', `/v1/tenants/${acme}/customers`);
      assert.equal(gated.statusCode, 403);
      assert.equal(gated.json().type, '/problems/phone-unverified');
      assert.equal((await me(session)).json().verification_required, 'phone');
      // The tenant's default channel applies when none is named.
      const set = await inject(session, 'PUT', '/v1/me/phone', { phone: '+14155550142' });
      assert.equal(set.json().channel, 'whatsapp');
      const { code } = await phoneCode('+14155550142');
      assert.equal((await inject(session, 'POST', '/v1/me/phone/verify', { code })).statusCode, 200);
      assert.equal((await inject(session, 'GET', `/v1/tenants/${acme}/customers`)).statusCode, 200);
      // Globex has no such policy.
      const globexMember = await t.login('member@globex.demo.test', 'globex');
      assert.equal((await inject(globexMember, 'GET', `/v1/tenants/${globex}/customers`)).statusCode, 200);
    } finally {
      // Owners are gated too: the policy is lifted directly for the other tests.
      await t.db.owner.updateTable('tenant_verification_policy').set({ require_phone: false }).where('tenant_id', '=', acme).execute();
      t.running.platform.sessions.apply({ kind: 'all' });
    }
  });
});

describe('verification caps per destination by day and per tenant (FR-VER-002)', () => {
  let t: TestPlatform;

  before(async () => {
    t = await buildTestPlatform({}, { policy: { verification: { codes_per_tenant_per_hour: 3, codes_per_destination_per_day: 2 } } });
  });
  after(() => t?.close());

  const setPhone = (session: Session, phone: string) =>
    t.app.inject({ method: 'PUT', url: '/v1/me/phone', headers: session.headers, payload: { phone, channel: 'sms' } });
  async function member(tenant: string, email: string) {
    await t.addUser(tenant, email, 'member');
    return t.login(email, tenant);
  }

  test('a tenant sends at most verification.codes_per_tenant_per_hour codes an hour, to any numbers; other tenants are not held back', async () => {
    for (let i = 1; i <= 3; i++) assert.equal((await setPhone(await member('acme', `tenant-cap-${i}@acme.example`), `+1415555090${i}`)).statusCode, 200);
    const over = await setPhone(await member('acme', 'tenant-cap-4@acme.example'), '+14155550904');
    assert.equal(over.statusCode, 429, over.body);
    assert.match(over.json().detail, /organization has sent its 3 codes/);
    assert.ok(Number(over.headers['retry-after']) > 3000);
    assert.equal((await setPhone(await member('globex', 'tenant-cap@globex.example'), '+14155550905')).statusCode, 200);
  });

  test('a destination gets at most verification.codes_per_destination_per_day codes a day', async () => {
    const first = await member('globex', 'day-cap-1@globex.example');
    const second = await member('globex', 'day-cap-2@globex.example');
    assert.equal((await setPhone(first, '+14155550911')).statusCode, 200);
    assert.equal((await setPhone(second, '+14155550911')).statusCode, 200);
    const third = await setPhone(first, '+14155550911');
    assert.equal(third.statusCode, 429);
    assert.ok(Number(third.headers['retry-after']) > 80_000, 'the day window');
  });
});

describe('the lifetime of verification codes (verification.code_lifetime_seconds)', () => {
  test('a code sent under a policy of 10 minutes says so and expires then', async () => {
    const t = await buildTestPlatform({}, { worker: false, policy: { verification: { code_lifetime_seconds: 600 } } });
    try {
      const id = await t.addUser('acme', 'brief@acme.example', 'member', { verified: false });
      const session = await t.login('brief@acme.example', 'acme');
      const sent = await t.app.inject({ method: 'POST', url: '/v1/me/email-verification', headers: session.headers });
      assert.equal(sent.statusCode, 202, sent.body);
      assert.equal(sent.json().expires_in, 600);
      const code = await t.db.owner.selectFrom('verification_codes').select('expires_at').where('user_id', '=', id).orderBy('created_at', 'desc').executeTakeFirstOrThrow();
      const seconds = (new Date(code.expires_at).getTime() - Date.now()) / 1000;
      assert.ok(seconds > 540 && seconds <= 600, `expires in ${seconds} s`);
    } finally {
      await t.close();
    }
  });
});
