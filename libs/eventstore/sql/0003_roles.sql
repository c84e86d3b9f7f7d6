-- 0003_roles: the roles of the services and what each may do.
--
-- Roles are cluster-wide while migrations run per database, so creating a role that
-- exists is not an error, and neither is losing a race with another database's
-- migration creating it at the same moment (unique_violation on pg_authid).
-- Service roles LOGIN without a password: the operator sets one (or certificate auth).
-- Services append only through atb.append(): a direct INSERT would not take the head
-- lock and could break the commit order of positions, so they hold no INSERT, UPDATE,
-- DELETE or TRUNCATE on atb.events or atb.commands.

DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['atb_intake', 'atb_means', 'atb_allocation', 'atb_payments',
                             'atb_reporting', 'atb_relay', 'atb_gateway', 'atb_auditor'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            BEGIN
                -- The auditor is a group role, granted to the people who audit.
                EXECUTE format('CREATE ROLE %I %s', r,
                               CASE WHEN r = 'atb_auditor' THEN 'NOLOGIN' ELSE 'LOGIN' END);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$roles$;

REVOKE ALL ON SCHEMA atb FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA atb FROM PUBLIC;

GRANT USAGE ON SCHEMA atb
    TO atb_intake, atb_means, atb_allocation, atb_payments, atb_reporting, atb_relay,
       atb_gateway, atb_auditor;

GRANT SELECT ON atb.events, atb.tenants, atb.commands, atb.log_head, atb.schema_migrations
    TO atb_intake, atb_means, atb_allocation, atb_payments, atb_reporting, atb_relay,
       atb_gateway;
GRANT EXECUTE ON FUNCTION atb.append(text[], text[], bigint[], uuid[], uuid[], uuid[], text[],
                                     int[], uuid[], text[], timestamptz[], bytea[])
    TO atb_intake, atb_means, atb_allocation, atb_payments, atb_reporting, atb_relay,
       atb_gateway;
GRANT SELECT, INSERT, UPDATE ON atb.checkpoints
    TO atb_intake, atb_means, atb_allocation, atb_payments, atb_reporting, atb_relay,
       atb_gateway;
GRANT SELECT, INSERT ON atb.dead_letters, atb.service_migrations
    TO atb_intake, atb_means, atb_allocation, atb_payments, atb_reporting, atb_relay,
       atb_gateway;

GRANT SELECT ON ALL TABLES IN SCHEMA atb TO atb_auditor;

-- Each service keeps its projections in its own schema, which it owns.
CREATE SCHEMA IF NOT EXISTS intake AUTHORIZATION atb_intake;
CREATE SCHEMA IF NOT EXISTS means AUTHORIZATION atb_means;
CREATE SCHEMA IF NOT EXISTS allocation AUTHORIZATION atb_allocation;
CREATE SCHEMA IF NOT EXISTS payments AUTHORIZATION atb_payments;
CREATE SCHEMA IF NOT EXISTS reporting AUTHORIZATION atb_reporting;
