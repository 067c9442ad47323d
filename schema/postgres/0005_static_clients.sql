-- Operator-registered (static) OAuth clients, next to those registered
-- dynamically (RFC 7591) and those named by a Client ID Metadata Document.
-- registration says which: 'dynamic' (/oauth/register), 'metadata' (the id is
-- the document's https URL) or 'operator' (the operator API).
-- secret_hash is the SHA-256 of a confidential client's generated secret;
-- NULL for public clients (PKCE only). Only operators register confidential
-- clients.
ALTER TABLE oauth_clients ADD COLUMN registration TEXT NOT NULL DEFAULT 'dynamic'
    CHECK (registration IN ('dynamic', 'metadata', 'operator'));
ALTER TABLE oauth_clients ADD COLUMN secret_hash BYTEA;
ALTER TABLE oauth_clients ADD CONSTRAINT oauth_clients_secret_operator
    CHECK (secret_hash IS NULL OR registration = 'operator');
UPDATE oauth_clients SET registration = 'metadata' WHERE id LIKE 'https://%';
CREATE INDEX oauth_clients_registration ON oauth_clients (registration, created_at);
