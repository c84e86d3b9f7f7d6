/*
 * handlers.c -- the commands, queries and consumers of the payments service, and its
 * schema.
 *
 * To add a command: its request message (field 1: atb.v1.CommandMeta) and its event in
 * proto/atb/v1/payments.proto with rows in docs/events.md; the handler in the file of what
 * it changes (payee.c, batch.c, ...); a row below.
 */
#include "payments.h"

const svc_command pay_commands[] = {
    {"SetPayeeAccount", &atb__v1__set_payee_account__descriptor, payee_set_handle, SVC_REPLAY},
    {"ErasePayee", &atb__v1__erase_payee__descriptor, payee_erase_handle, SVC_REPLAY},
    {"CreateBatch", &atb__v1__create_batch__descriptor, batch_create_handle, 0},
    {"ExportBatch", &atb__v1__export_batch__descriptor, batch_export_handle, 0},
    {"ImportConfirmation", &atb__v1__import_confirmation__descriptor, batch_confirm_handle, 0},
    {"RecordCashPayment", &atb__v1__record_cash_payment__descriptor, cash_paid_handle, SVC_REPLAY},
    {"ListDueOrders", &atb__v1__list_due_orders__descriptor, query_due_handle, SVC_QUERY},
    {"PaymentHistory", &atb__v1__payment_history__descriptor, query_history_handle, SVC_QUERY},
    {"BudgetExecution", &atb__v1__budget_execution__descriptor, query_budget_handle, SVC_QUERY},
    {"ListBatches", &atb__v1__list_batches__descriptor, batch_list_handle, SVC_QUERY},
};
const size_t pay_n_commands = sizeof pay_commands / sizeof pay_commands[0];

/* Durable names are also checkpoint names: never rename one. */
static const char *const decision_categories[] = {"decision"};
static const char *const charge_categories[] = {"charges"};

const svc_consumer pay_consumers[] = {
    {"payments-decisions", decision_categories, 1, consume_decision, NULL},
    {"payments-charges", charge_categories, 1, consume_charge, NULL},
};
const size_t pay_n_consumers = sizeof pay_consumers / sizeof pay_consumers[0];

/* Applied once each, in order, as the admin with search_path = payments. Never edit one
 * that ran anywhere; append.
 *
 * The tables are the service's state, each row written in the transaction of the event
 * that justifies it. Two rules are enforced by PostgreSQL itself, so no code path can
 * break them: the ledger (per grant, what is scheduled, batched, paid or rejected, minus
 * recovery claims, never exceeds what is granted: a deferred constraint trigger checked at
 * commit) and the finality of an order (a paid or cancelled order never changes status).
 * payments.payees holds identifying data (account holder and IBAN): erasable, never in an
 * event. payments.batches.xml keeps the exported file (it names payees) for the bank's
 * audit; erasing a payee also clears the files that name it. */
const char *const pay_migrations[] = {
    "CREATE TABLE payments.sources (\n"
    "    event_id uuid PRIMARY KEY,\n"
    "    consumer text NOT NULL,\n"
    "    position bigint NOT NULL\n"
    ");\n"
    "COMMENT ON TABLE payments.sources IS 'Events of other services already turned into payments: once per event.';\n"
    "CREATE TABLE payments.ekk (\n"
    "    tenant      text NOT NULL,\n"
    "    benefit     text NOT NULL,\n"
    "    budget_code text NOT NULL,\n"
    "    funding     text NOT NULL CHECK (funding IN ('municipal', 'state', 'eu')),\n"
    "    source      text NOT NULL,\n"
    "    PRIMARY KEY (tenant, benefit)\n"
    ");\n"
    "INSERT INTO payments.ekk VALUES\n"
    "  ('*', '*', '6429', 'municipal', 'assumed: other social assistance benefits; confirm with the municipality'),\n"
    "  ('*', 'GMI', '6421', 'municipal', 'assumed: GMI benefit; confirm with the municipality'),\n"
    "  ('*', 'HOUSING', '6422', 'municipal', 'assumed: housing benefit; confirm with the municipality'),\n"
    "  ('*', 'SERVICE', '2279', 'municipal', 'assumed: services bought from providers; confirm with the municipality'),\n"
    "  ('*', 'PLACE', '7210', 'municipal', 'assumed: transfers to other municipalities; confirm with the municipality');\n"
    "CREATE TABLE payments.grants (\n"
    "    grant_key     text PRIMARY KEY,\n"
    "    tenant        text NOT NULL,\n"
    "    person        text NOT NULL,\n"
    "    payee         text,\n"
    "    benefit       text NOT NULL,\n"
    "    channel       text NOT NULL CHECK (channel IN ('account', 'cash', 'provider', 'municipality')),\n"
    "    budget_code   text NOT NULL,\n"
    "    funding       text NOT NULL CHECK (funding IN ('municipal', 'state', 'eu')),\n"
    "    granted_cents bigint NOT NULL DEFAULT 0 CHECK (granted_cents >= 0),\n"
    "    stream        text NOT NULL\n"
    ");\n"
    "CREATE TABLE payments.terms (\n"
    "    grant_key       text   NOT NULL REFERENCES payments.grants,\n"
    "    seq             int    NOT NULL,\n"
    "    effective_after date,\n"
    "    amount_cents    bigint NOT NULL CHECK (amount_cents >= 0),\n"
    "    per             int    NOT NULL,\n"
    "    period_from     date,\n"
    "    period_to       date,\n"
    "    decided_on      date,\n"
    "    source_position bigint NOT NULL,\n"
    "    PRIMARY KEY (grant_key, seq)\n"
    ");\n"
    "CREATE TABLE payments.orders (\n"
    "    order_id      uuid   PRIMARY KEY,\n"
    "    tenant        text   NOT NULL,\n"
    "    grant_key     text   NOT NULL REFERENCES payments.grants,\n"
    "    person        text   NOT NULL,\n"
    "    payee         text,\n"
    "    channel       text   NOT NULL,\n"
    "    amount_cents  bigint NOT NULL CHECK (amount_cents > 0),\n"
    "    due           date   NOT NULL,\n"
    "    slot_from     date   NOT NULL,\n"
    "    slot_to       date   NOT NULL,\n"
    "    benefit       text   NOT NULL,\n"
    "    budget_code   text   NOT NULL,\n"
    "    funding       text   NOT NULL,\n"
    "    status        text   NOT NULL CHECK (status IN ('scheduled', 'batched', 'paid', 'rejected', 'cancelled')),\n"
    "    batch_id      uuid,\n"
    "    reject_reason text,\n"
    "    paid_on       date\n"
    ");\n"
    "CREATE INDEX orders_due ON payments.orders (tenant, status, due);\n"
    "CREATE INDEX orders_grant ON payments.orders (grant_key, slot_from);\n"
    "CREATE INDEX orders_person ON payments.orders (tenant, person);\n"
    "CREATE INDEX orders_batch ON payments.orders (batch_id);\n"
    "CREATE TABLE payments.recoveries (\n"
    "    claim_id     uuid   PRIMARY KEY,\n"
    "    tenant       text   NOT NULL,\n"
    "    grant_key    text   NOT NULL REFERENCES payments.grants,\n"
    "    person       text   NOT NULL,\n"
    "    amount_cents bigint NOT NULL CHECK (amount_cents > 0),\n"
    "    slot_from    date   NOT NULL,\n"
    "    slot_to      date   NOT NULL,\n"
    "    budget_code  text   NOT NULL,\n"
    "    funding      text   NOT NULL,\n"
    "    claimed_on   date   NOT NULL\n"
    ");\n"
    "CREATE INDEX recoveries_grant ON payments.recoveries (grant_key, slot_from);\n"
    "CREATE TABLE payments.batches (\n"
    "    batch_id          uuid PRIMARY KEY,\n"
    "    tenant            text NOT NULL,\n"
    "    execution_date    date NOT NULL,\n"
    "    count             int  NOT NULL,\n"
    "    control_sum_cents bigint NOT NULL,\n"
    "    created_at        timestamptz NOT NULL DEFAULT now(),\n"
    "    xml               bytea,\n"
    "    sha256            text,\n"
    "    report_id         text\n"
    ");\n"
    "CREATE TABLE payments.batch_orders (\n"
    "    batch_id uuid NOT NULL REFERENCES payments.batches,\n"
    "    order_id uuid NOT NULL REFERENCES payments.orders,\n"
    "    PRIMARY KEY (batch_id, order_id)\n"
    ");\n"
    "CREATE TABLE payments.payees (\n"
    "    tenant     text NOT NULL,\n"
    "    payee      text NOT NULL,\n"
    "    kind       text NOT NULL CHECK (kind IN ('person', 'provider', 'municipality', 'debtor')),\n"
    "    name       text NOT NULL,\n"
    "    iban       text NOT NULL,\n"
    "    bic        text NOT NULL DEFAULT '',\n"
    "    updated_at timestamptz NOT NULL DEFAULT now(),\n"
    "    PRIMARY KEY (tenant, payee)\n"
    ");\n"
    "COMMENT ON TABLE payments.payees IS 'Identifying: account holders and IBANs. Erasable; never in an event.';\n"
    "CREATE TABLE payments.provider_benefits (\n"
    "    tenant  text NOT NULL,\n"
    "    benefit text NOT NULL,\n"
    "    payee   text NOT NULL,\n"
    "    PRIMARY KEY (tenant, benefit)\n"
    ");\n"
    "CREATE FUNCTION payments.check_ledger() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "DECLARE granted bigint; owed bigint; claimed bigint;\n"
    "BEGIN\n"
    "    SELECT granted_cents INTO granted FROM payments.grants WHERE grant_key = NEW.grant_key;\n"
    "    SELECT coalesce(sum(amount_cents), 0) INTO owed FROM payments.orders\n"
    "     WHERE grant_key = NEW.grant_key AND status <> 'cancelled';\n"
    "    SELECT coalesce(sum(amount_cents), 0) INTO claimed FROM payments.recoveries WHERE grant_key = NEW.grant_key;\n"
    "    IF owed - claimed > granted THEN\n"
    "        RAISE EXCEPTION 'ledger: grant % would pay % cents (claims % cents) of % granted',\n"
    "            NEW.grant_key, owed, claimed, granted USING ERRCODE = 'check_violation';\n"
    "    END IF;\n"
    "    RETURN NULL;\n"
    "END $$;\n"
    "CREATE CONSTRAINT TRIGGER orders_ledger AFTER INSERT OR UPDATE ON payments.orders\n"
    "    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payments.check_ledger();\n"
    "CREATE CONSTRAINT TRIGGER grants_ledger AFTER UPDATE ON payments.grants\n"
    "    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payments.check_ledger();\n"
    "CREATE FUNCTION payments.order_final() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "    IF OLD.status IN ('paid', 'cancelled') AND NEW.status <> OLD.status THEN\n"
    "        RAISE EXCEPTION 'order % is % and cannot become %', OLD.order_id, OLD.status, NEW.status\n"
    "            USING ERRCODE = 'check_violation';\n"
    "    END IF;\n"
    "    IF OLD.status = 'paid' AND NEW.amount_cents <> OLD.amount_cents THEN\n"
    "        RAISE EXCEPTION 'order % is paid: its amount cannot change', OLD.order_id USING ERRCODE = 'check_violation';\n"
    "    END IF;\n"
    "    RETURN NEW;\n"
    "END $$;\n"
    "CREATE TRIGGER orders_final BEFORE UPDATE ON payments.orders FOR EACH ROW EXECUTE FUNCTION payments.order_final();\n"
    "GRANT SELECT ON payments.ekk TO atb_payments;\n"
    "GRANT SELECT, INSERT ON payments.sources, payments.terms, payments.recoveries, payments.batch_orders TO atb_payments;\n"
    "GRANT SELECT, INSERT, UPDATE ON payments.grants, payments.orders, payments.batches TO atb_payments;\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON payments.payees, payments.provider_benefits TO atb_payments;\n",
    /* Recovery claims collected by offsetting them against the same payee's later orders of
     * the same benefit (offset.c). An order stays owed in full (amount_cents, the ledger);
     * offset_cents of it settles claims and amount - offset is sent to the bank. A
     * collection by an order that is later cancelled no longer counts. */
    "ALTER TABLE payments.orders ADD COLUMN offset_cents bigint NOT NULL DEFAULT 0;\n"
    "ALTER TABLE payments.orders ADD CONSTRAINT orders_offset\n"
    "    CHECK (offset_cents >= 0 AND offset_cents < amount_cents);\n"
    "CREATE TABLE payments.offset_share (\n"
    "    tenant  text NOT NULL,\n"
    "    benefit text NOT NULL,\n"
    "    percent int  NOT NULL CHECK (percent >= 0 AND percent < 100),\n"
    "    source  text NOT NULL,\n"
    "    PRIMARY KEY (tenant, benefit)\n"
    ");\n"
    "COMMENT ON TABLE payments.offset_share IS 'At most this share of an order is kept back for recovery claims.';\n"
    "INSERT INTO payments.offset_share VALUES\n"
    "  ('*', '*', 20, 'assumed: a municipality deducts an overpayment from later benefit, at most 20% of each "
    "payment so the household keeps the rest; confirm with the municipality''s binding regulations');\n"
    "CREATE TABLE payments.collections (\n"
    "    claim_id     uuid   NOT NULL REFERENCES payments.recoveries,\n"
    "    order_id     uuid   NOT NULL REFERENCES payments.orders,\n"
    "    batch_id     uuid   NOT NULL,\n"
    "    amount_cents bigint NOT NULL CHECK (amount_cents > 0),\n"
    "    collected_on date   NOT NULL,\n"
    "    PRIMARY KEY (claim_id, order_id)\n"
    ");\n"
    "CREATE INDEX collections_order ON payments.collections (order_id);\n"
    "CREATE FUNCTION payments.check_collected() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "DECLARE claim bigint; got bigint; kept bigint; off bigint;\n"
    "BEGIN\n"
    "    SELECT amount_cents INTO claim FROM payments.recoveries WHERE claim_id = NEW.claim_id;\n"
    "    SELECT coalesce(sum(c.amount_cents), 0) INTO got FROM payments.collections c\n"
    "      JOIN payments.orders o USING (order_id) WHERE c.claim_id = NEW.claim_id AND o.status <> 'cancelled';\n"
    "    IF got > claim THEN\n"
    "        RAISE EXCEPTION 'claim % would be collected % cents of %', NEW.claim_id, got, claim\n"
    "            USING ERRCODE = 'check_violation';\n"
    "    END IF;\n"
    "    SELECT coalesce(sum(amount_cents), 0) INTO kept FROM payments.collections WHERE order_id = NEW.order_id;\n"
    "    SELECT offset_cents INTO off FROM payments.orders WHERE order_id = NEW.order_id;\n"
    "    IF kept <> off THEN\n"
    "        RAISE EXCEPTION 'order % keeps back % cents but its collections are %', NEW.order_id, off, kept\n"
    "            USING ERRCODE = 'check_violation';\n"
    "    END IF;\n"
    "    RETURN NULL;\n"
    "END $$;\n"
    "CREATE CONSTRAINT TRIGGER collections_check AFTER INSERT ON payments.collections\n"
    "    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION payments.check_collected();\n"
    "GRANT SELECT ON payments.offset_share TO atb_payments;\n"
    "GRANT SELECT, INSERT ON payments.collections TO atb_payments;\n",
};
const size_t pay_n_migrations = sizeof pay_migrations / sizeof pay_migrations[0];
