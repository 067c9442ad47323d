-- The execution log's ids come from SQLite's rowid without AUTOINCREMENT:
-- AUTOINCREMENT writes its counter (a page of sqlite_sequence) in every
-- transaction that inserts, which was a fifth of the CPU of writing a
-- tool call's row. Without it a new row's id is one more than the largest
-- in the table, so ids still only grow as long as the newest rows are
-- never deleted, and nothing deletes them. The table is rebuilt (SQLite
-- cannot drop AUTOINCREMENT in place) with the same columns and indexes.
ALTER TABLE executions RENAME TO executions_autoincrement;

CREATE TABLE executions (
    id          INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL,
    server_id   TEXT NOT NULL,
    tool_name   TEXT NOT NULL,
    module_hash TEXT NOT NULL,
    actor       TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome <> ''),
    fuel_used   INTEGER NOT NULL CHECK (fuel_used >= 0),
    memory_peak INTEGER NOT NULL CHECK (memory_peak >= 0),
    duration_ns INTEGER NOT NULL CHECK (duration_ns >= 0),
    arguments   TEXT CHECK (json_valid(arguments)),
    result      TEXT CHECK (json_valid(result)),
    started_at  TIMESTAMP NOT NULL,
    logs        TEXT CHECK (json_valid(logs)),
    detail      TEXT NOT NULL DEFAULT '',
    recording   TEXT CHECK (json_valid(recording))
);

INSERT INTO executions (id, customer_id, server_id, tool_name, module_hash, actor, outcome, fuel_used,
        memory_peak, duration_ns, arguments, result, started_at, logs, detail, recording)
    SELECT id, customer_id, server_id, tool_name, module_hash, actor, outcome, fuel_used,
        memory_peak, duration_ns, arguments, result, started_at, logs, detail, recording
    FROM executions_autoincrement;

DROP TABLE executions_autoincrement;

CREATE INDEX executions_customer ON executions (customer_id, started_at);
CREATE INDEX executions_server ON executions (server_id, id);
