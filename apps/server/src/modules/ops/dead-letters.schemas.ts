import { Type } from 'typebox';
import { PageQuery, Timestamp, Uuid } from '../../kernel/http/schemas.ts';

export const DeadLetter = Type.Object({
  id: Uuid,
  queue: Type.String({ description: 'The queue the job failed on' }),
  tenant_id: Type.Union([Type.String(), Type.Null()], { description: "The tenant its payload names ('platform' for the platform plane); null for scheduled work" }),
  enqueued_by: Type.Union([Type.String(), Type.Null()], {
    description: "The tenant (or 'platform') whose transaction enqueued it, as the database recorded it; null when the scheduler did",
  }),
  error: Type.Union([Type.String(), Type.Null()], { description: "The last attempt's error message" }),
  attempts: Type.Integer(),
  created_at: Timestamp,
  failed_at: Timestamp,
  payload_keys: Type.Array(Type.String(), { description: 'The names of its payload fields; the payload itself may hold secrets and is not shown' }),
  replayable: Type.Boolean({ description: 'False for a job refused because it was not enqueued in the tenant its payload names' }),
}, { $id: 'DeadLetter' });

export const ListDeadLettersQuery = Type.Object({ ...PageQuery });

export const DeadLetterParams = Type.Object({ id: Uuid });
