/** The benchmark's own database on the server: created at the start, dropped at the end. */
import pg from 'pg';

export function databaseUrl(server: string, name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function adminQuery(server: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}
