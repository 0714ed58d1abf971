// NFR-SEC-003: passkeys end to end over HTTP, with a software authenticator that builds real
// attestations and ES256 assertions (the console test does the same with Chromium's virtual one).
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { decodeJwt } from 'jose';
import { buildTestPlatform, type Session, type TestPlatform } from '../../../test/helpers.ts';
import { verifiedEmail } from './mfa.test-helpers.ts';

const ORIGIN = 'http://localhost:3000';
const RP_ID = 'localhost';
const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

/** A platform authenticator in software: one P-256 credential and its signature counter. */
class SoftAuthenticator {
  readonly credentialId = randomBytes(16);
  private readonly key: KeyObject;
  private readonly publicJwk: { x: string; y: string };
  counter = 0;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.key = privateKey;
    this.publicJwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin = ORIGIN) {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  private authData(attested: boolean) {
    const flags = 0x01 | 0x04 | (attested ? 0x40 : 0); // user present, user verified, attested credential data
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const parts = [sha256(RP_ID), Buffer.from([flags]), counter];
    if (attested) {
      const cose = new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(this.publicJwk.x, 'base64url')],
        [-3, Buffer.from(this.publicJwk.y, 'base64url')],
      ]);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), length, this.credentialId, Buffer.from(isoCBOR.encode(cose)));
    }
    return Buffer.concat(parts);
  }

  register(options: { challenge: string }) {
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', this.authData(true)]]) as never);
    return {
      id: b64url(this.credentialId),
      rawId: b64url(this.credentialId),
      type: 'public-key',
      response: { clientDataJSON: b64url(this.clientData('webauthn.create', options.challenge)), attestationObject: b64url(attestationObject), transports: ['internal'] },
      clientExtensionResults: {},
    };
  }

  /** An assertion; `counterStep` 0 replays the counter, as a cloned authenticator would. */
  assert(options: { challenge: string }, counterStep = 1, origin = ORIGIN) {
    this.counter += counterStep;
    const authenticatorData = this.authData(false);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, origin);
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), this.key);
    return {
      id: b64url(this.credentialId),
      rawId: b64url(this.credentialId),
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authenticatorData), signature: b64url(signature) },
      clientExtensionResults: {},
    };
  }
}

describe('passkeys (WebAuthn): registration, sign-in, step-up and their attacks (NFR-SEC-003, ERR-AUTH-461, FR-AUTH-014)', () => {
  let t: TestPlatform;
  let session: Session;
  const device = new SoftAuthenticator();
  const email = 'passkey@acme.example';

  const post = (url: string, payload?: object, headers?: Session['headers']) =>
    t.app.inject({ method: 'POST', url, ...(payload ? { payload } : {}), ...(headers ? { headers } : {}) });

  async function challenge() {
    const login = await post('/v1/auth/login', { email, password: 'Test-Demo-Passw0rd!', tenant: 'acme' });
    assert.equal(login.statusCode, 401, login.body);
    const { challenge_token, methods } = login.json() as { challenge_token: string; methods: string[] };
    const options = await post('/v1/auth/mfa/webauthn/options', { challenge_token });
    assert.equal(options.statusCode, 200, options.body);
    return { challenge_token, methods, options: options.json() as { challenge: string; allowCredentials: { id: string }[]; rpId: string } };
  }

  before(async () => {
    t = await buildTestPlatform({ PUBLIC_URL: ORIGIN }, { worker: false });
    await t.addUser('acme', email, 'member');
    await verifiedEmail(t, email);
    session = await t.login(email, 'acme');
  });
  after(() => t?.close());

  test('a passkey registers from its options once; the first factor brings recovery codes', async () => {
    const options = await post('/v1/me/mfa/webauthn/options', undefined, session.headers);
    assert.equal(options.statusCode, 200, options.body);
    const body = options.json() as { challenge: string; rp: { id: string } };
    assert.equal(body.rp.id, RP_ID);
    const response = device.register(body);
    const registered = await post('/v1/me/mfa/webauthn', { name: 'Laptop', response }, session.headers);
    assert.equal(registered.statusCode, 200, registered.body);
    const result = registered.json() as { factor: { kind: string; name: string; status: string }; recovery_codes: string[] };
    assert.deepEqual([result.factor.kind, result.factor.name, result.factor.status], ['webauthn', 'Laptop', 'active']);
    assert.equal(result.recovery_codes.length, 10);
    const again = await post('/v1/me/mfa/webauthn', { name: 'Laptop', response }, session.headers);
    assert.equal(again.statusCode, 403, 'the registration challenge is single use');
  });

  test('sign-in: methods name webauthn; the assertion finishes with amr pwd+mfa+hwk', async () => {
    const { challenge_token, methods, options } = await challenge();
    assert.deepEqual(methods, ['webauthn', 'recovery_code']);
    assert.deepEqual(options.allowCredentials.map((c) => c.id), [b64url(device.credentialId)]);
    const done = await post('/v1/auth/mfa/verify', { challenge_token, webauthn: device.assert(options) });
    assert.equal(done.statusCode, 200, done.body);
    assert.deepEqual((decodeJwt((done.json() as { access_token: string }).access_token) as { amr: string[] }).amr, ['pwd', 'mfa', 'hwk']);
  });

  test('attack: a counter that does not grow (a cloned authenticator), a foreign origin or a stale challenge is refused', async () => {
    const cloned = await challenge();
    assert.equal((await post('/v1/auth/mfa/verify', { challenge_token: cloned.challenge_token, webauthn: device.assert(cloned.options, 0) })).statusCode, 403);
    const phished = await challenge();
    assert.equal((await post('/v1/auth/mfa/verify', { challenge_token: phished.challenge_token, webauthn: device.assert(phished.options, 1, 'https://evil.example') })).statusCode, 403);
    const first = await challenge();
    const second = await post('/v1/auth/mfa/webauthn/options', { challenge_token: first.challenge_token });
    const stale = device.assert(first.options);
    assert.equal((await post('/v1/auth/mfa/verify', { challenge_token: first.challenge_token, webauthn: stale })).statusCode, 403, 'only the newest options of a challenge count');
    const fresh = device.assert(second.json() as { challenge: string });
    assert.equal((await post('/v1/auth/mfa/verify', { challenge_token: first.challenge_token, webauthn: fresh })).statusCode, 200);
  });

  test('step-up with the passkey marks the session; its options are single use', async () => {
    const options = await post('/v1/auth/step-up/webauthn/options', undefined, session.headers);
    assert.equal(options.statusCode, 200, options.body);
    const assertion = device.assert(options.json() as { challenge: string });
    const stepped = await post('/v1/auth/step-up', { webauthn: assertion }, session.headers);
    assert.equal(stepped.statusCode, 200, stepped.body);
    const claims = decodeJwt((stepped.json() as { access_token: string }).access_token) as { amr: string[]; mfa_at: number };
    assert.deepEqual(claims.amr, ['pwd', 'mfa', 'hwk']);
    const replay = await post('/v1/auth/step-up', { webauthn: assertion }, session.headers);
    assert.ok(replay.statusCode === 403 || replay.statusCode === 401, replay.body);
  });
});
