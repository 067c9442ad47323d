-- The execution log's two indexes become one. Every tool call commits a
-- row, and each index is one more page its commit writes to the WAL (two
-- system calls and a B-tree insert): with three pages (the table's and the
-- two indexes'), the second index was about a sixth of the CPU of writing a
-- lone call's row (BenchmarkRecordExecutions). Every read of the log names
-- the customer (ListExecutions); (customer_id, server_id, id) finds a
-- customer's rows, as executions_customer did, and a server's newest first,
-- as executions_server did.
CREATE INDEX executions_customer_server ON executions (customer_id, server_id, id);
DROP INDEX executions_customer;
DROP INDEX executions_server;
