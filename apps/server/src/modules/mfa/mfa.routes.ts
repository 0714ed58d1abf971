import type { App } from '../../kernel/http/server.ts';
import { Problem, problemResponses, TenantParams } from '../../kernel/http/schemas.ts';
import {
  ChallengeBody,
  ConfirmTotpBody,
  FactorActivated,
  FactorParams,
  MfaPolicy,
  MfaPolicyBody,
  MfaStatus,
  RecoveryCodesResponse,
  RegisterWebauthnBody,
  StepUpBody,
  StepUpResponse,
  TotpEnrolment,
  VerifyBody,
  VerifyResponse,
  WebauthnOptions,
} from './mfa.schemas.ts';
import type { MfaService } from './mfa.service.ts';

const TAGS = ['mfa'];
/** Second factors (NFR-SEC-003) and the login challenge they answer (ERR-AUTH-461). */
const LOGIN = ['NFR-SEC-003', 'ERR-AUTH-461', 'FR-AUTH-001', 'FR-AUTH-010', 'FR-AUTH-013'];
const FACTORS = ['NFR-SEC-003'];
const STEP_UP = ['FR-AUTH-014', 'NFR-SEC-003', 'FR-AUTH-013'];
const PUBLIC_PROBLEMS = { 400: Problem, 401: Problem, 403: Problem } as const;
const NO_CONTENT = { 204: { type: 'null' }, ...problemResponses } as const;

export function mfaRoutes(app: App, mfa: MfaService) {
  app.post(
    '/v1/auth/mfa/verify',
    {
      config: { access: 'public', requirements: LOGIN, rateLimit: { perIp: 'login' } },
      schema: { tags: TAGS, summary: 'Finish a sign-in with a second factor (answers a 401 mfa-required)', body: VerifyBody, response: { 200: VerifyResponse, ...PUBLIC_PROBLEMS } },
    },
    // The WebAuthn parts are checked by the verifier, not by the schema.
    async (request) => mfa.verifyLogin(request.ctx, request.body as Parameters<MfaService['verifyLogin']>[1]),
  );
  app.post(
    '/v1/auth/mfa/webauthn/options',
    {
      config: { access: 'public', requirements: LOGIN, rateLimit: { perIp: 'login' } },
      schema: { tags: TAGS, summary: 'WebAuthn options for a sign-in challenge', body: ChallengeBody, response: { 200: WebauthnOptions, ...PUBLIC_PROBLEMS } },
    },
    async (request) => mfa.loginWebauthnOptions(request.ctx, request.body.challenge_token),
  );
  app.post(
    '/v1/auth/mfa/enroll/totp',
    {
      config: { access: 'public', requirements: LOGIN, rateLimit: { perIp: 'login' } },
      schema: {
        tags: TAGS,
        summary: 'Enrol an authenticator app during a sign-in whose policy requires MFA (enrollment_required)',
        body: ChallengeBody,
        response: { 200: TotpEnrolment, ...PUBLIC_PROBLEMS },
      },
    },
    async (request) => mfa.enrolTotpAtLogin(request.ctx, request.body.challenge_token),
  );

  app.post(
    '/v1/auth/step-up',
    {
      config: { access: 'authenticated', requirements: STEP_UP },
      schema: { tags: TAGS, summary: 'Prove a second factor in this session for sensitive actions; answers a new token pair', body: StepUpBody, response: { 200: StepUpResponse, ...problemResponses } },
    },
    async (request) => mfa.stepUp(request.signedIn, request.body as Parameters<MfaService['stepUp']>[1]),
  );
  app.post(
    '/v1/auth/step-up/webauthn/options',
    {
      config: { access: 'authenticated', requirements: STEP_UP },
      schema: { tags: TAGS, summary: 'WebAuthn options for a step-up', response: { 200: WebauthnOptions, ...problemResponses } },
    },
    async (request) => mfa.stepUpOptions(request.signedIn),
  );

  app.get(
    '/v1/me/mfa',
    {
      config: { access: 'authenticated', requirements: FACTORS },
      schema: { tags: TAGS, summary: 'My second factors', response: { 200: MfaStatus, ...problemResponses } },
    },
    async (request) => mfa.status(request.signedIn),
  );
  app.post(
    '/v1/me/mfa/totp',
    {
      config: { access: 'authenticated', requirements: FACTORS },
      schema: { tags: TAGS, summary: 'Start enrolling an authenticator app', response: { 200: TotpEnrolment, ...problemResponses } },
    },
    async (request) => mfa.startTotp(request.signedIn),
  );
  app.post(
    '/v1/me/mfa/totp/:id/confirm',
    {
      config: { access: 'authenticated', requirements: FACTORS },
      schema: { tags: TAGS, summary: 'Activate an authenticator app with its first code', params: FactorParams, body: ConfirmTotpBody, response: { 200: FactorActivated, ...problemResponses } },
    },
    async (request) => mfa.confirmTotp(request.signedIn, request.params.id, request.body.code),
  );
  app.delete(
    '/v1/me/mfa/factors/:id',
    {
      config: { access: 'authenticated', requirements: FACTORS },
      schema: { tags: TAGS, summary: 'Remove a second factor (an active one needs a recent step-up)', params: FactorParams, response: NO_CONTENT },
    },
    async (request, reply) => {
      await mfa.removeFactor(request.signedIn, request.params.id);
      return reply.status(204).send(null);
    },
  );
  app.post(
    '/v1/me/mfa/recovery-codes',
    {
      config: { access: 'authenticated', requirements: FACTORS },
      schema: { tags: TAGS, summary: 'Replace my recovery codes (needs a recent step-up)', response: { 200: RecoveryCodesResponse, ...problemResponses } },
    },
    async (request) => mfa.regenerateRecoveryCodes(request.signedIn),
  );
  app.post(
    '/v1/me/mfa/webauthn/options',
    {
      config: { access: 'authenticated', requirements: FACTORS },
      schema: { tags: TAGS, summary: 'Options to register a passkey or security key', response: { 200: WebauthnOptions, ...problemResponses } },
    },
    async (request) => mfa.webauthnRegistrationOptions(request.signedIn),
  );
  app.post(
    '/v1/me/mfa/webauthn',
    {
      config: { access: 'authenticated', requirements: FACTORS },
      schema: { tags: TAGS, summary: 'Register a passkey or security key', body: RegisterWebauthnBody, response: { 200: FactorActivated, ...problemResponses } },
    },
    async (request) => mfa.registerWebauthn(request.signedIn, request.body as Parameters<MfaService['registerWebauthn']>[1]),
  );

  const POLICY = '/v1/tenants/:tenantId/mfa-policy';
  app.get(
    POLICY,
    {
      config: { access: 'settings.manage', requirements: ['NFR-SEC-003', 'FR-AUTH-010'] },
      schema: { tags: TAGS, summary: "The organization's MFA policy", params: TenantParams, response: { 200: MfaPolicy, ...problemResponses } },
    },
    async (request) => mfa.getPolicy(request.ctx),
  );
  app.put(
    POLICY,
    {
      config: { access: 'settings.manage', requirements: ['NFR-SEC-003', 'FR-AUTH-010', 'FR-AUTH-014'], stepUp: true },
      schema: { tags: TAGS, summary: 'Require MFA of nobody, administrators or everyone; challenge new devices', params: TenantParams, body: MfaPolicyBody, response: { 200: MfaPolicy, ...problemResponses } },
    },
    async (request) => mfa.updatePolicy(request.ctx, request.body),
  );
}
