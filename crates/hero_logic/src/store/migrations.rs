//! Numbered schema migrations; `PRAGMA user_version` records how many have run.

/// Each entry runs once, in order, inside one transaction. Never edit a shipped entry: add one.
pub const MIGRATIONS: &[&str] = &[
    // 1: the rootobjects.
    r#"
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO counters (name, value) VALUES ('sid', 0);

    CREATE TABLE logics (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL,
        current_version_sid TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );

    CREATE TABLE logic_versions (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        logic_sid TEXT NOT NULL,
        version_label TEXT NOT NULL,
        notes TEXT NOT NULL,
        inputs TEXT NOT NULL,
        outputs TEXT NOT NULL,
        python_source TEXT NOT NULL,
        binding TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (logic_sid, version_label)
    );
    CREATE INDEX logic_versions_by_logic ON logic_versions (logic_sid, id);

    CREATE TABLE logic_examples (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        logic_sid TEXT NOT NULL,
        logic_version_sid TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        input_values TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX logic_examples_by_logic ON logic_examples (logic_sid, id);

    CREATE TABLE plays (
        id INTEGER PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        logic_sid TEXT NOT NULL,
        logic_version_sid TEXT NOT NULL,
        name TEXT NOT NULL,
        parent_play_sid TEXT NOT NULL,
        step_key TEXT NOT NULL,
        status TEXT NOT NULL,
        input_data TEXT NOT NULL,
        output_data TEXT NOT NULL,
        error_message TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        completed_at INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        logs TEXT NOT NULL,
        pending_resumes TEXT NOT NULL,
        received_resumes TEXT NOT NULL,
        total_tokens_prompt INTEGER NOT NULL,
        total_tokens_completion INTEGER NOT NULL,
        total_cost_usd REAL NOT NULL,
        replayed INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX plays_by_logic ON plays (logic_sid, id);
    CREATE INDEX plays_by_version ON plays (logic_version_sid, id);
    CREATE INDEX plays_by_parent ON plays (parent_play_sid, id);
    CREATE INDEX plays_by_status ON plays (status, id);

    -- Child order and memoized steps live in their own rows, so that appending one is a
    -- single INSERT rather than a read-modify-write of the parent.
    CREATE TABLE play_children (
        parent_sid TEXT NOT NULL,
        seq INTEGER NOT NULL,
        child_sid TEXT NOT NULL,
        PRIMARY KEY (parent_sid, seq)
    ) WITHOUT ROWID;

    CREATE TABLE play_steps (
        play_sid TEXT NOT NULL,
        step_key TEXT NOT NULL,
        output TEXT NOT NULL,
        PRIMARY KEY (play_sid, step_key)
    ) WITHOUT ROWID;
    "#,
    // 2: the static flow graph of each version (LogicService.logic_parse_graph), computed once;
    // versions never change, so a row is valid for as long as its version exists.
    r#"
    CREATE TABLE version_graphs (
        version_sid TEXT PRIMARY KEY,
        graph TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 3: the sandbox limits `play_start` gave a top-level Play (JSON of `Limits`; "" = the
    // service defaults), so that a resumed or recovered run gets the same budget.
    r#"
    ALTER TABLE plays ADD COLUMN limits TEXT NOT NULL DEFAULT '';
    "#,
    // 4: how many times start-up recovery found a top-level Play `running` and replayed it; a
    // Play past `engine.recover_attempts` is failed, so one that kills the daemon cannot make
    // it crash at every start.
    r#"
    ALTER TABLE plays ADD COLUMN recover_attempts INTEGER NOT NULL DEFAULT 0;
    "#,
    // 5: whether a version's Plays may use the network (the decorator's `network=True`).
    r#"
    ALTER TABLE logic_versions ADD COLUMN network INTEGER NOT NULL DEFAULT 0;
    "#,
    // 6: `play_search`'s time range, so "runs since yesterday" reads an index range rather
    // than every Play.
    r#"
    CREATE INDEX plays_by_created ON plays (created_at, id);
    "#,
    // 7: which attempt of a retried call a child Play is (0: a call without retries).
    r#"
    ALTER TABLE plays ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
    "#,
    // 8: nothing. PostgreSQL's 8 adds the daemons' leases, which SQLite never needs: one
    // daemon has its file (the data dir lock), so every unfinished Play it finds is its own.
    "-- one daemon per SQLite file: no leases",
];

/// The same migrations in PostgreSQL's dialect, entry for entry (`PG_MIGRATIONS[i]` is
/// `MIGRATIONS[i]`); a `schema_version` row records how many have run. Sids come from the
/// `sids` sequence, which every daemon on the database shares.
pub const PG_MIGRATIONS: &[&str] = &[
    // 1: the rootobjects.
    r#"
    CREATE SEQUENCE sids;
    -- Every sid is taken through these two, under a short session lock, so that a block of
    -- reserved sids stays consecutive while other daemons take sids too.
    CREATE FUNCTION reserve_sids(n BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
    DECLARE first BIGINT;
    BEGIN
        PERFORM pg_advisory_lock(hashtext('hero_logic.sids'));
        first := nextval('sids');
        IF n > 1 THEN PERFORM setval('sids', first + n - 1); END IF;
        PERFORM pg_advisory_unlock(hashtext('hero_logic.sids'));
        RETURN first;
    END $$;
    CREATE FUNCTION sids_at_least(v BIGINT) RETURNS VOID LANGUAGE plpgsql AS $$
    DECLARE last BIGINT; called BOOLEAN;
    BEGIN
        PERFORM pg_advisory_lock(hashtext('hero_logic.sids'));
        SELECT last_value, is_called INTO last, called FROM sids;
        IF last < v OR (NOT called AND last <= v) THEN PERFORM setval('sids', v); END IF;
        PERFORM pg_advisory_unlock(hashtext('hero_logic.sids'));
    END $$;
    -- Child order across concurrent transactions (SQLite's single writer takes MAX + 1).
    CREATE SEQUENCE play_child_seq;

    CREATE TABLE logics (
        id BIGINT PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL,
        current_version_sid TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    );

    CREATE TABLE logic_versions (
        id BIGINT PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        logic_sid TEXT NOT NULL,
        version_label TEXT NOT NULL,
        notes TEXT NOT NULL,
        inputs TEXT NOT NULL,
        outputs TEXT NOT NULL,
        python_source TEXT NOT NULL,
        binding TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (logic_sid, version_label)
    );
    CREATE INDEX logic_versions_by_logic ON logic_versions (logic_sid, id);

    CREATE TABLE logic_examples (
        id BIGINT PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        logic_sid TEXT NOT NULL,
        logic_version_sid TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        input_values TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE INDEX logic_examples_by_logic ON logic_examples (logic_sid, id);

    CREATE TABLE plays (
        id BIGINT PRIMARY KEY,
        sid TEXT NOT NULL UNIQUE,
        logic_sid TEXT NOT NULL,
        logic_version_sid TEXT NOT NULL,
        name TEXT NOT NULL,
        parent_play_sid TEXT NOT NULL,
        step_key TEXT NOT NULL,
        status TEXT NOT NULL,
        input_data TEXT NOT NULL,
        output_data TEXT NOT NULL,
        error_message TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        completed_at BIGINT NOT NULL,
        duration_ms BIGINT NOT NULL,
        logs TEXT NOT NULL,
        pending_resumes TEXT NOT NULL,
        received_resumes TEXT NOT NULL,
        total_tokens_prompt BIGINT NOT NULL,
        total_tokens_completion BIGINT NOT NULL,
        total_cost_usd DOUBLE PRECISION NOT NULL,
        replayed BIGINT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX plays_by_logic ON plays (logic_sid, id);
    CREATE INDEX plays_by_version ON plays (logic_version_sid, id);
    CREATE INDEX plays_by_parent ON plays (parent_play_sid, id);
    CREATE INDEX plays_by_status ON plays (status, id);

    CREATE TABLE play_children (
        parent_sid TEXT NOT NULL,
        seq BIGINT NOT NULL,
        child_sid TEXT NOT NULL,
        PRIMARY KEY (parent_sid, seq)
    );

    CREATE TABLE play_steps (
        play_sid TEXT NOT NULL,
        step_key TEXT NOT NULL,
        output TEXT NOT NULL,
        PRIMARY KEY (play_sid, step_key)
    );
    "#,
    // 2: the flow graph of each version.
    r#"
    CREATE TABLE version_graphs (
        version_sid TEXT PRIMARY KEY,
        graph TEXT NOT NULL
    );
    "#,
    // 3: the sandbox limits of a top-level Play.
    r#"
    ALTER TABLE plays ADD COLUMN limits TEXT NOT NULL DEFAULT '';
    "#,
    // 4: start-up recoveries of a Play.
    r#"
    ALTER TABLE plays ADD COLUMN recover_attempts BIGINT NOT NULL DEFAULT 0;
    "#,
    // 5: whether a version's Plays may use the network.
    r#"
    ALTER TABLE logic_versions ADD COLUMN network BIGINT NOT NULL DEFAULT 0;
    "#,
    // 6: play_search's time range.
    r#"
    CREATE INDEX plays_by_created ON plays (created_at, id);
    "#,
    // 7: the attempt of a retried call.
    r#"
    ALTER TABLE plays ADD COLUMN attempt BIGINT NOT NULL DEFAULT 0;
    "#,
    // 8: several daemons on one database. Each holds a lease it renews; a top-level Play
    // records the daemon that runs it (`owner`), so that only the Plays of a daemon whose
    // lease ran out are taken over, and a `play_cancel` received elsewhere reaches it
    // (`cancel_requested`, which the owner picks up); status changes are announced.
    r#"
    CREATE SEQUENCE daemon_ids;
    CREATE TABLE daemons (
        id BIGINT PRIMARY KEY,
        host TEXT NOT NULL,
        pid BIGINT NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    ALTER TABLE plays ADD COLUMN owner BIGINT;
    ALTER TABLE plays ADD COLUMN cancel_requested BIGINT NOT NULL DEFAULT 0;
    -- Each daemon looks for requests to it every heartbeat: a tiny index of the open ones.
    CREATE INDEX plays_cancel_requested ON plays (owner) WHERE cancel_requested = 1;
    -- A Play's status change wakes the play_wait and play_watch calls of every daemon, not
    -- just those of the daemon that made it (`Store::watch_changes` listens).
    CREATE FUNCTION notify_play_status() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('hero_logic_plays', NEW.sid);
        RETURN NULL;
    END $$;
    CREATE TRIGGER plays_status_changed AFTER UPDATE OF status ON plays FOR EACH ROW
        WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION notify_play_status();
    "#,
];
