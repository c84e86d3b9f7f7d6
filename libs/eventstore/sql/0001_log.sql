-- 0001_log: the event log and the tables around it.
--
-- Invariants kept here and in 0002_append.sql:
--  * atb.events.position is assigned by atb.append() only, under the row lock of
--    atb.log_head, so positions are gapless and in commit order;
--  * atb.events and atb.commands are never changed: triggers refuse UPDATE, DELETE and
--    TRUNCATE for every role, the owner included (SQLSTATE ZA001).
-- es_migrate() creates schema atb and atb.schema_migrations before it runs this file.

CREATE TABLE atb.tenants (
    code   text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$' AND length(code) <= 63),
    name   text NOT NULL,
    region text
);

-- The municipalities of the source documents, and the 20 members of the Kurzeme regional
-- programme (document 003). Regions are set only where a source document names one.
INSERT INTO atb.tenants (code, name, region) VALUES
    ('daugavpils',       'Daugavpils valstspilsēta', NULL),
    ('tervete',          'Tērvetes novads',          'zemgale'),
    ('kandava',          'Kandavas novads',          NULL),
    ('dobele',           'Dobeles novads',           NULL),
    ('aizpute',          'Aizputes novads',          'kurzeme'),
    ('alsunga',          'Alsungas novads',          'kurzeme'),
    ('broceni',          'Brocēnu novads',           'kurzeme'),
    ('dundaga',          'Dundagas novads',          'kurzeme'),
    ('durbe',            'Durbes novads',            'kurzeme'),
    ('grobina',          'Grobiņas novads',          'kurzeme'),
    ('kuldiga',          'Kuldīgas novads',          'kurzeme'),
    ('liepaja',          'Liepājas pilsēta',         'kurzeme'),
    ('mersrags',         'Mērsraga novads',          'kurzeme'),
    ('nica',             'Nīcas novads',             'kurzeme'),
    ('pavilosta',        'Pāvilostas novads',        'kurzeme'),
    ('priekule',         'Priekules novads',         'kurzeme'),
    ('roja',             'Rojas novads',             'kurzeme'),
    ('rucava',           'Rucavas novads',           'kurzeme'),
    ('saldus',           'Saldus novads',            'kurzeme'),
    ('skrunda',          'Skrundas novads',          'kurzeme'),
    ('talsi',            'Talsu novads',             'kurzeme'),
    ('vainode',          'Vaiņodes novads',          'kurzeme'),
    ('ventspils',        'Ventspils pilsēta',        'kurzeme'),
    ('ventspils_novads', 'Ventspils novads',         'kurzeme'),
    ('demo',             'Demonstrācijas pašvaldība', NULL);

CREATE TABLE atb.events (
    position       bigint      PRIMARY KEY,
    event_id       uuid        NOT NULL UNIQUE,
    -- No foreign key to atb.tenants: atb.append() checks the tenant under the head lock,
    -- and tenants are never deleted. The foreign key's per-row key-share lock on the
    -- tenant row cost about a quarter of the append rate (bench_log).
    tenant         text        NOT NULL,
    stream_id      text        NOT NULL,
    category       text        NOT NULL,
    version        bigint      NOT NULL CHECK (version > 0),
    type           text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    causation_id   uuid,
    correlation_id uuid,
    command_id     uuid,
    actor          text,
    payload        bytea       NOT NULL,
    -- The name is part of the contract: the library maps a unique violation of this
    -- constraint to ES_CONFLICT.
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version)
);
CREATE INDEX events_category_position ON atb.events (category, position);
CREATE INDEX events_tenant_position ON atb.events (tenant, position);

-- The head of the log. Its row lock, taken by atb.append() and held to commit, is what
-- serialises appends and makes positions commit-ordered.
CREATE TABLE atb.log_head (
    id       int    PRIMARY KEY CHECK (id = 1),
    position bigint NOT NULL
);
INSERT INTO atb.log_head (id, position) VALUES (1, 0);

-- Idempotency: the first result of every command that appended.
CREATE TABLE atb.commands (
    command_id     uuid        PRIMARY KEY,
    tenant         text        NOT NULL,
    stream_id      text        NOT NULL,
    first_position bigint      NOT NULL,
    last_position  bigint      NOT NULL,
    version        bigint      NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE atb.checkpoints (
    consumer   text        PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz
);

CREATE TABLE atb.dead_letters (
    consumer    text        NOT NULL,
    position    bigint      NOT NULL,
    code        int,
    message     text,
    detail      text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, position)
);

-- Versions of each service's own schema, kept by the service runtime.
CREATE TABLE atb.service_migrations (
    service    text        NOT NULL,
    version    int         NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service, version)
);

CREATE FUNCTION atb.refuse_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RAISE EXCEPTION '%.% is append-only', TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'ZA001',
              DETAIL = format('%s on %I.%I is refused for every role, its owner included.',
                              TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME),
              HINT = 'Append an event that corrects the earlier one instead.';
END
$fn$;

CREATE TRIGGER events_refuse_change BEFORE UPDATE OR DELETE ON atb.events
    FOR EACH ROW EXECUTE FUNCTION atb.refuse_change();
CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON atb.events
    FOR EACH STATEMENT EXECUTE FUNCTION atb.refuse_change();
CREATE TRIGGER commands_refuse_change BEFORE UPDATE OR DELETE ON atb.commands
    FOR EACH ROW EXECUTE FUNCTION atb.refuse_change();
CREATE TRIGGER commands_refuse_truncate BEFORE TRUNCATE ON atb.commands
    FOR EACH STATEMENT EXECUTE FUNCTION atb.refuse_change();
