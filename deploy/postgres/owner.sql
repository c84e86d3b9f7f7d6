-- owner.sql -- before the first start of the services: the role that owns the database
-- and runs every migration (the services' ATB_PG_ADMIN_URL), so that no service machine
-- needs the superuser's password. Run as the superuser on the database machine:
--   createdb atbalsts && psql -d atbalsts -v owner_pw="'...'" -f owner.sql
-- The service roles are created here too (the first migration, libs/eventstore/sql/
-- 0003_roles.sql, then finds them) and granted to the owner: it creates each service's
-- schema with that service as its owner, which PostgreSQL allows only to a member.
DO $$
DECLARE
    r text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'atb_owner') THEN
    CREATE ROLE atb_owner LOGIN;
  END IF;
  FOREACH r IN ARRAY ARRAY['atb_intake', 'atb_means', 'atb_allocation', 'atb_payments',
                           'atb_reporting', 'atb_relay', 'atb_gateway', 'atb_auditor'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I %s', r, CASE WHEN r = 'atb_auditor' THEN 'NOLOGIN' ELSE 'LOGIN' END);
    END IF;
    EXECUTE format('GRANT %I TO atb_owner', r);
  END LOOP;
END $$;
ALTER ROLE atb_owner PASSWORD :owner_pw;
ALTER DATABASE atbalsts OWNER TO atb_owner;
ALTER SCHEMA public OWNER TO atb_owner;
