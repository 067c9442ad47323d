-- The execution journal's mark: the last record of a node's journal file
-- whose row is in the executions table. It is set in the transaction that
-- moves the rows, so a process that replays the file after a crash skips
-- the records already moved (pkg/store/execjournal.go). One row.
CREATE TABLE execution_journal (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    moved INTEGER NOT NULL CHECK (moved >= 0)
);
