-- The execution journal's mark (see the SQLite migration of this version).
-- Only a SQLite node journals its execution rows: on PostgreSQL the table
-- is kept so that both dialects have the same tables, and stays empty.
CREATE TABLE execution_journal (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    moved BIGINT NOT NULL CHECK (moved >= 0)
);
