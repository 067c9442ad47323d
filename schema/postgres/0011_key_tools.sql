-- A server key may be limited to some of its server's tools (per-tool
-- authorization): tools lists their names; empty means every tool.
ALTER TABLE api_keys ADD COLUMN tools JSONB NOT NULL DEFAULT '[]';
