import type { App } from '../../kernel/http/server.ts';
import { problemResponses, TenantParams } from '../../kernel/http/schemas.ts';
import { CodeBody, LinkBody, PhoneBody, PhoneResponse, SendResponse, VerificationPolicy, VerificationPolicyBody, VerifiedResponse } from './verification.schemas.ts';
import type { VerificationService } from './verification.service.ts';

const TAGS = ['verification'];
const EMAIL = ['FR-VER-001'];
const PHONE = ['FR-VER-002'];

/** Every route a signed-in user needs to get verified is open to unverified users (allowUnverified). */
export function verificationRoutes(app: App, verification: VerificationService) {
  app.post(
    '/v1/me/email-verification',
    {
      config: { access: 'authenticated', allowUnverified: true, requirements: EMAIL },
      schema: { tags: TAGS, summary: 'Mail me a verification link and code (3 an hour)', response: { 202: SendResponse, ...problemResponses } },
    },
    async (request, reply) => reply.status(202).send(await verification.sendEmail(request.signedIn)),
  );
  app.post(
    '/v1/me/email-verification/confirm',
    {
      config: { access: 'authenticated', allowUnverified: true, requirements: EMAIL },
      schema: { tags: TAGS, summary: 'Verify my email address with the code from the mail', body: CodeBody, response: { 200: VerifiedResponse, ...problemResponses } },
    },
    async (request) => verification.confirmEmailCode(request.signedIn, request.body.code),
  );
  app.post(
    '/v1/auth/email-verification/confirm',
    {
      config: { access: 'public', requirements: EMAIL },
      schema: { tags: TAGS, summary: 'Verify an email address with the link from the mail', body: LinkBody, response: { 200: VerifiedResponse, ...problemResponses } },
    },
    async (request) => verification.confirmEmailLink(request.ctx, request.body.token),
  );
  app.put(
    '/v1/me/phone',
    {
      config: { access: 'authenticated', allowUnverified: true, requirements: PHONE },
      schema: { tags: TAGS, summary: 'Set my phone number and send it a code (3 an hour)', body: PhoneBody, response: { 200: PhoneResponse, ...problemResponses } },
    },
    async (request) => verification.setPhone(request.signedIn, request.body),
  );
  app.post(
    '/v1/me/phone/verify',
    {
      config: { access: 'authenticated', allowUnverified: true, requirements: PHONE },
      schema: { tags: TAGS, summary: 'Verify my phone number with the code (5 tries an hour)', body: CodeBody, response: { 200: VerifiedResponse, ...problemResponses } },
    },
    async (request) => verification.verifyPhone(request.signedIn, request.body.code),
  );

  const POLICY = '/v1/tenants/:tenantId/verification-policy';
  app.get(
    POLICY,
    {
      config: { access: 'settings.manage', requirements: PHONE },
      schema: { tags: TAGS, summary: "The organization's verification policy", params: TenantParams, response: { 200: VerificationPolicy, ...problemResponses } },
    },
    async (request) => verification.getPolicy(request.ctx),
  );
  app.put(
    POLICY,
    {
      config: { access: 'settings.manage', requirements: [...PHONE, 'FR-AUTH-014'], stepUp: true },
      schema: {
        tags: TAGS,
        summary: 'Require phone verification and choose the default channel',
        params: TenantParams,
        body: VerificationPolicyBody,
        response: { 200: VerificationPolicy, ...problemResponses },
      },
    },
    async (request) => verification.updatePolicy(request.ctx, request.body),
  );
}
