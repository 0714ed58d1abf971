import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
const t0 = Date.now();
const db = await PGlite.create({ extensions: { vector } });
console.log('init ms', Date.now() - t0);
await db.exec(`create extension if not exists vector; create role tsv_app nologin; create table t(tenant_id uuid not null, v text); alter table t enable row level security; alter table t force row level security;
create policy p on t using (tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid); grant select, insert on t to tsv_app;`);
await db.exec(`begin; set local role tsv_app; select set_config('app.tenant_id','11111111-1111-1111-1111-111111111111',true); insert into t values ('11111111-1111-1111-1111-111111111111','a'); commit;`);
const r = await db.query(`select current_user, (select count(*) from t) c`);
console.log(r.rows);
await db.exec(`begin; set local role tsv_app;`);
console.log((await db.query(`select current_user, (select count(*) from t) c`)).rows);
try { await db.query(`insert into t values ('11111111-1111-1111-1111-111111111111','b')`);} catch(e){ console.log('insert fail', (e as any).code); }
await db.exec('rollback');
console.log((await db.query(`select current_user`)).rows);
const t1 = Date.now(); const d = await db.dumpDataDir('none'); console.log('dump ms', Date.now()-t1, d.size);
const t2 = Date.now(); const db2 = await PGlite.create({ loadDataDir: d, extensions: { vector } }); console.log('load ms', Date.now()-t2, (await db2.query('select count(*) from t')).rows);
