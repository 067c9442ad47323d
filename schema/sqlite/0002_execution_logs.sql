-- The guest's log lines (kiln.log, stdout, stderr, HTTP requests) and the
-- host's account of a call that did not finish normally.
ALTER TABLE executions ADD COLUMN logs TEXT CHECK (json_valid(logs));
ALTER TABLE executions ADD COLUMN detail TEXT NOT NULL DEFAULT '';
