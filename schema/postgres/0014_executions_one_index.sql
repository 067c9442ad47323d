-- SQLite's 0014 merges the execution log's two indexes into one, which
-- saves a WAL page in every tool call's commit there. PostgreSQL keeps
-- both: there a row's cost is its commit's flush to disk, not an index,
-- and building an index inside a migration's transaction would hold off
-- the execution log's writes of the nodes still serving during a rolling
-- upgrade (docs/deploy.md), for seconds per million rows. This migration
-- only records that, where the indexes are described; a comment takes no
-- lock that an INSERT waits for.
COMMENT ON INDEX executions_server IS 'A server''s executions, newest first (ListExecutions). SQLite merges this index and executions_customer into executions_customer_server (migration 0014); PostgreSQL keeps both.';
