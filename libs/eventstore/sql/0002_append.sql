-- 0002_append: atb.append(), the only way into atb.events.
--
-- One call appends a group of appends (parallel arrays: one element per append, and one
-- element per event in append order; p_count gives each append's number of events).
-- Order of work, and why:
--  1. lock the head row FOR UPDATE. Under READ COMMITTED the lock returns the latest
--     committed head, and it is held to commit, so no other append numbers events until
--     this transaction is visible: positions are gapless and in commit order;
--  2. decide each append in order (invalid, unknown tenant, duplicate command, version
--     conflict, or accepted); appends earlier in the same call count for the version
--     check and for duplicate command ids; one append's rejection never fails another;
--  3. insert the accepted events in one statement, record their commands, move the head
--     and notify channel atb_log with the new head;
--  4. return one row per append: status 0 ok, 1 conflict, 2 duplicate (the first result
--     of the command), 3 unknown tenant, 4 invalid (detail says why).
-- Arguments that cannot be decoded into appends at all (arrays of different lengths)
-- raise SQLSTATE 22023 and append nothing.
-- Per-append arrays are subscripted (they are as long as the number of concurrent
-- callers); per-event arrays only ever unnested, since subscripting a long array costs
-- in proportion to its length.

CREATE FUNCTION atb.append(
    p_tenant      text[],
    p_stream      text[],
    p_expected    bigint[],
    p_command     uuid[],
    p_causation   uuid[],
    p_correlation uuid[],
    p_actor       text[],
    p_count       int[],
    e_id          uuid[],
    e_type        text[],
    e_occurred    timestamptz[],
    e_payload     bytea[])
RETURNS TABLE (status int, first_position bigint, last_position bigint,
               version bigint, actual_version bigint, detail text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    n_app     int := coalesce(cardinality(p_tenant), 0);
    n_ev      int := coalesce(cardinality(e_type), 0);
    v_head    bigint;
    v_next    bigint;
    v_cur     bigint;
    v_exp     bigint;
    v_cnt     int;
    v_ev0     int := 1;
    v_slot    int;
    v_cmd     int;
    v_src     int;
    i         int;
    r_status  int[];
    r_first   bigint[];
    r_last    bigint[];
    r_ver     bigint[];
    r_actual  bigint[];
    r_detail  text[];
    r_base    bigint[];   -- the stream's version before the append
    a_ev0     int[];      -- index of the append's first event
    a_known   boolean[];  -- true if its tenant is registered, else NULL
    a_dfirst  bigint[];   -- the recorded result of its command id, if any
    a_dlast   bigint[];
    a_dver    bigint[];
    a_cmd     int[];      -- the first append of this call with the same command id
    a_slot    int[];      -- the first append with its stream: its slot in s_ver / s_tenant
    cmd_acc   int[];      -- by a_cmd: the append of this call that recorded the command
    s_ver     bigint[];
    s_tenant  text[];
    ev_app    int[];      -- per event: its append
    v_bad     bigint[];   -- ordinals of events without a valid type or payload
    v_total   bigint;
BEGIN
    IF n_app = 0 THEN
        RETURN;
    END IF;
    IF cardinality(p_stream) IS DISTINCT FROM n_app OR cardinality(p_expected) IS DISTINCT FROM n_app
       OR cardinality(p_command) IS DISTINCT FROM n_app OR cardinality(p_causation) IS DISTINCT FROM n_app
       OR cardinality(p_correlation) IS DISTINCT FROM n_app OR cardinality(p_actor) IS DISTINCT FROM n_app
       OR cardinality(p_count) IS DISTINCT FROM n_app OR cardinality(e_id) IS DISTINCT FROM n_ev
       OR cardinality(e_occurred) IS DISTINCT FROM n_ev OR cardinality(e_payload) IS DISTINCT FROM n_ev
       OR array_lower(p_tenant, 1) <> 1 OR array_lower(p_stream, 1) <> 1
       OR array_lower(p_expected, 1) <> 1 OR array_lower(p_command, 1) <> 1
       OR array_lower(p_causation, 1) <> 1 OR array_lower(p_correlation, 1) <> 1
       OR array_lower(p_actor, 1) <> 1 OR array_lower(p_count, 1) <> 1
       OR (n_ev > 0 AND (array_lower(e_id, 1) <> 1 OR array_lower(e_type, 1) <> 1
                         OR array_lower(e_occurred, 1) <> 1 OR array_lower(e_payload, 1) <> 1)) THEN
        RAISE EXCEPTION 'atb.append: the argument arrays do not describe one group of appends'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Per-append arrays need one element per append, per-event arrays one per event, and p_count must add up to the number of events.';
    END IF;

    SELECT h.position INTO v_head FROM atb.log_head AS h WHERE h.id = 1 FOR UPDATE;

    -- Everything the decisions need, in one statement (each statement has a fixed cost,
    -- and this runs while every other append waits for the head lock):
    --  ev_app   per event, the append it belongs to;
    --  v_bad    the events (by ordinal) without a valid type or payload, usually NULL;
    --  a_known  per append, whether its tenant is registered;
    --  a_d*     per append, the recorded result of its command id, if any;
    --  a_cmd    per append, the first append of this call with the same command id;
    --  a_slot   per append, the first append of this call with the same stream: the
    --           index into s_ver / s_tenant, which start as the newest version and the
    --           tenant of the stream in the log.
    -- The LATERAL ... LIMIT 1 lookups cannot be turned into joins, so they always walk
    -- an index (the stream's newest version backwards on (stream_id, version)): the cost
    -- of a call does not grow with the log or with the length of a stream.
    SELECT ev.apps, ev.total, bad.ords, a.known, a.dfirst, a.dlast, a.dver, a.dcmd,
           a.slots, a.vers, a.tenants
      INTO ev_app, v_total, v_bad, a_known, a_dfirst, a_dlast, a_dver, a_cmd,
           a_slot, s_ver, s_tenant
      FROM (SELECT array_agg(x.i ORDER BY x.i, g.n) AS apps, count(*) AS total
              FROM unnest(p_count) WITH ORDINALITY AS x(c, i),
                   generate_series(1, greatest(x.c, 0)) AS g(n)) AS ev,
           (SELECT array_agg(u.k) AS ords
              FROM unnest(e_type, e_payload) WITH ORDINALITY AS u(t, p, k)
             WHERE u.t IS NULL OR u.p IS NULL OR length(u.t) > 100
                OR u.t !~ '^[A-Za-z][A-Za-z0-9_]*$') AS bad,
           (SELECT array_agg(t.known ORDER BY x.i) AS known,
                   array_agg(c.first_position ORDER BY x.i) AS dfirst,
                   array_agg(c.last_position ORDER BY x.i) AS dlast,
                   array_agg(c.version ORDER BY x.i) AS dver,
                   array_agg(x.fc::int ORDER BY x.i) AS dcmd,
                   array_agg(x.fs::int ORDER BY x.i) AS slots,
                   array_agg(coalesce(l.version, 0) ORDER BY x.i) AS vers,
                   array_agg(l.tenant ORDER BY x.i) AS tenants
              FROM (SELECT y.tenant, y.sid, y.cid, y.i,
                           CASE WHEN y.cid IS NOT NULL
                                THEN min(y.i) OVER (PARTITION BY y.cid) END AS fc,
                           min(y.i) OVER (PARTITION BY y.sid) AS fs
                      FROM unnest(p_tenant, p_stream, p_command) WITH ORDINALITY
                           AS y(tenant, sid, cid, i)) AS x
              LEFT JOIN LATERAL (SELECT true AS known FROM atb.tenants AS tt
                                  WHERE tt.code = x.tenant LIMIT 1) AS t ON true
              LEFT JOIN LATERAL (SELECT cc.first_position, cc.last_position, cc.version
                                   FROM atb.commands AS cc
                                  WHERE cc.command_id = x.cid LIMIT 1) AS c ON true
              LEFT JOIN LATERAL (SELECT e.version, e.tenant FROM atb.events AS e
                                  WHERE e.stream_id = x.sid
                                  ORDER BY e.version DESC LIMIT 1) AS l ON true) AS a;
    IF v_total <> n_ev THEN
        RAISE EXCEPTION 'atb.append: the argument arrays do not describe one group of appends'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'p_count adds up to ' || v_total || ' events, but ' || n_ev || ' were given.';
    END IF;

    r_status := array_fill(0, ARRAY[n_app]);
    r_first  := array_fill(NULL::bigint, ARRAY[n_app]);
    r_last   := array_fill(NULL::bigint, ARRAY[n_app]);
    r_ver    := array_fill(NULL::bigint, ARRAY[n_app]);
    r_actual := array_fill(NULL::bigint, ARRAY[n_app]);
    r_base   := array_fill(NULL::bigint, ARRAY[n_app]);
    r_detail := array_fill(NULL::text, ARRAY[n_app]);
    a_ev0    := array_fill(0, ARRAY[n_app]);
    cmd_acc  := array_fill(NULL::int, ARRAY[n_app]);
    v_next := v_head + 1;

    FOR i IN 1 .. n_app LOOP
        v_cnt := coalesce(p_count[i], 0);
        a_ev0[i] := v_ev0;
        v_ev0 := v_ev0 + greatest(v_cnt, 0);
        v_exp := p_expected[i];
        IF v_cnt < 1 THEN
            r_status[i] := 4;
            r_detail[i] := 'an append needs at least one event';
        ELSIF p_stream[i] IS NULL OR length(p_stream[i]) > 200
              OR split_part(p_stream[i], '-', 1) !~ '^[A-Za-z0-9_]{1,63}$'
              OR p_stream[i] ~ '[[:space:][:cntrl:]]' THEN
            r_status[i] := 4;
            r_detail[i] := 'the stream id is not "<category>-<id>" with a category of letters, digits and "_"';
        ELSIF v_exp IS NULL OR v_exp < -1 THEN
            r_status[i] := 4;
            r_detail[i] := 'the expected version is not -1 (any), 0 (none) or a version';
        ELSIF v_bad IS NOT NULL
              AND EXISTS (SELECT 1 FROM unnest(v_bad) AS b(k)
                           WHERE b.k >= a_ev0[i] AND b.k < a_ev0[i] + v_cnt) THEN
            r_status[i] := 4;
            r_detail[i] := 'an event has no valid type name or no payload';
        ELSIF p_tenant[i] IS NULL OR a_known[i] IS NULL THEN
            r_status[i] := 3;
        ELSE
            v_cmd := a_cmd[i];
            v_src := CASE WHEN v_cmd IS NOT NULL THEN cmd_acc[v_cmd] END;
            IF a_dfirst[i] IS NOT NULL THEN
                r_status[i] := 2;
                r_first[i] := a_dfirst[i];
                r_last[i] := a_dlast[i];
                r_ver[i] := a_dver[i];
            ELSIF v_src IS NOT NULL THEN
                r_status[i] := 2;
                r_first[i] := r_first[v_src];
                r_last[i] := r_last[v_src];
                r_ver[i] := r_ver[v_src];
            ELSE
                v_slot := a_slot[i];
                v_cur := s_ver[v_slot];
                IF s_tenant[v_slot] IS NOT NULL AND s_tenant[v_slot] <> p_tenant[i] THEN
                    r_status[i] := 4;
                    r_detail[i] := format('stream %s belongs to tenant %s', p_stream[i], s_tenant[v_slot]);
                ELSIF v_exp = -1 OR v_exp = v_cur THEN
                    r_base[i] := v_cur;
                    r_first[i] := v_next;
                    r_last[i] := v_next + v_cnt - 1;
                    r_ver[i] := v_cur + v_cnt;
                    v_next := v_next + v_cnt;
                    s_ver[v_slot] := v_cur + v_cnt;
                    s_tenant[v_slot] := p_tenant[i];
                    IF v_cmd IS NOT NULL THEN
                        cmd_acc[v_cmd] := i;
                    END IF;
                ELSE
                    r_status[i] := 1;
                    r_actual[i] := v_cur;
                END IF;
            END IF;
        END IF;
    END LOOP;

    IF v_next > v_head + 1 THEN
        INSERT INTO atb.events (position, event_id, tenant, stream_id, category, version, type,
                                occurred_at, causation_id, correlation_id, command_id, actor,
                                payload)
        SELECT r_first[u.a] + (u.k - a_ev0[u.a]),
               coalesce(u.id, gen_random_uuid()),
               p_tenant[u.a], p_stream[u.a], split_part(p_stream[u.a], '-', 1),
               r_base[u.a] + (u.k - a_ev0[u.a]) + 1,
               u.t, coalesce(u.o, now()),
               p_causation[u.a], p_correlation[u.a], p_command[u.a], p_actor[u.a],
               u.p
          FROM unnest(e_id, e_type, e_occurred, e_payload, ev_app) WITH ORDINALITY
               AS u(id, t, o, p, a, k)
         WHERE r_status[u.a] = 0;

        INSERT INTO atb.commands (command_id, tenant, stream_id, first_position,
                                  last_position, version)
        SELECT p_command[x.i], p_tenant[x.i], p_stream[x.i], r_first[x.i], r_last[x.i], r_ver[x.i]
          FROM generate_subscripts(p_command, 1) AS x(i)
         WHERE r_status[x.i] = 0 AND p_command[x.i] IS NOT NULL;

        UPDATE atb.log_head SET position = v_next - 1 WHERE id = 1;
        PERFORM pg_notify('atb_log', (v_next - 1)::text);
    END IF;

    RETURN QUERY SELECT * FROM unnest(r_status, r_first, r_last, r_ver, r_actual, r_detail);
END
$fn$;

REVOKE ALL ON FUNCTION atb.append(text[], text[], bigint[], uuid[], uuid[], uuid[], text[],
                                  int[], uuid[], text[], timestamptz[], bytea[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION atb.refuse_change() FROM PUBLIC;
