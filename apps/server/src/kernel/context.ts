import type { Logger } from './log.ts';

export interface Actor {
  type: 'user' | 'operator' | 'system';
  userId: string;
  tenantId: string | null;
  roles: string[];
  sessionId: string;
  amr: string[];
}

/** One per request (or job), passed first to every service function. */
export interface RequestContext {
  correlationId: string;
  ip: string | null;
  userAgent: string | null;
  actor: Actor | null;
  log: Logger;
}
