-- A server's owner may ask for tool arguments and results to be kept in the
-- execution log; off by default, since they can hold personal data.
ALTER TABLE servers ADD COLUMN record_payloads BOOLEAN NOT NULL DEFAULT FALSE;
