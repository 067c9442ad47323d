-- The execution log's two indexes become one, as on SQLite, where each
-- index was one more page every tool call's commit wrote (see SQLite's
-- 0014); here too each is one more B-tree insert, and WAL record, per row.
-- Every read of the log names the customer (ListExecutions);
-- (customer_id, server_id, id) finds a customer's rows, as
-- executions_customer did, and a server's newest first, as
-- executions_server did.
CREATE INDEX executions_customer_server ON executions (customer_id, server_id, id);
DROP INDEX executions_customer;
DROP INDEX executions_server;
