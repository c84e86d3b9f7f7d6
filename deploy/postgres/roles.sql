-- roles.sql -- after the first start of the services (its migrations create the service
-- roles, without passwords; owner.sql comes before): passwords and connection limits.
-- Run as the superuser, with the passwords from the password manager:
--   psql -d atbalsts -v relay_pw="'...'" -v intake_pw="'...'" ... -f roles.sql
-- Every password comes from the password manager; SCRAM-SHA-256 stores only a verifier.

-- The services: one role each, a password each, and a cap on connections sized for the
-- instances you run: each instance holds workers + consumers + 4 connections (its pool,
-- the group committer and the log watcher); 2 instances of 8 workers need about 30.
ALTER ROLE atb_relay      PASSWORD :relay_pw      CONNECTION LIMIT 40;
ALTER ROLE atb_intake     PASSWORD :intake_pw     CONNECTION LIMIT 40;
ALTER ROLE atb_means      PASSWORD :means_pw      CONNECTION LIMIT 40;
ALTER ROLE atb_allocation PASSWORD :allocation_pw CONNECTION LIMIT 40;
ALTER ROLE atb_payments   PASSWORD :payments_pw   CONNECTION LIMIT 40;
ALTER ROLE atb_reporting  PASSWORD :reporting_pw  CONNECTION LIMIT 40;

-- Connections of a stalled or killed instance must not hold locks for ever: a consumer's
-- checkpoint row and the relay's advisory lock are held inside transactions, which end
-- when the connection does. TCP keepalives find a dead peer within about 2 minutes.
ALTER SYSTEM SET tcp_keepalives_idle = 60;
ALTER SYSTEM SET tcp_keepalives_interval = 10;
ALTER SYSTEM SET tcp_keepalives_count = 6;
SELECT pg_reload_conf();
