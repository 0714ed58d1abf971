import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../../apps/server/src/kernel/context.ts';
import type { Logger } from '../../apps/server/src/kernel/log.ts';

/** The system actor, for setting up applications and flags through the platform's services. */
export const systemContext = (log: Logger): RequestContext => ({
  correlationId: randomUUID(),
  ip: null,
  userAgent: 'tsv-bench',
  actor: { type: 'system', userId: 'bench', tenantId: null, roles: [], sessionId: 'bench', amr: [], grants: new Map() },
  reach: 'all',
  log,
});
