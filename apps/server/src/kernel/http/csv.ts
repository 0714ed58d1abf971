import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

/** Sends a streamed CSV download (a route's typed reply knows only the JSON problem shapes). */
export function sendCsv(reply: FastifyReply, csv: { filename: string; stream: Readable }) {
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${csv.filename}"`).send(csv.stream);
}
