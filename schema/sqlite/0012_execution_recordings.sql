-- What a recorded call read from the host (clocks, random bytes, HTTP
-- responses), for `kiln replay`: kept only for servers that record
-- payloads, bounded in size, and never holding a secret's value.
ALTER TABLE executions ADD COLUMN recording TEXT CHECK (json_valid(recording));
