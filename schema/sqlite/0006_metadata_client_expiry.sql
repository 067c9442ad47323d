-- Clients named by a Client ID Metadata Document (registration 'metadata')
-- are not permanent: anyone can name a new document URL at /oauth/authorize.
-- expires_at is when such a row may go once nothing refers to it: pkg/oauth
-- moves it forward at every authorization request naming the client, and
-- deletes rows past it that no authorization request or token refers to
-- (which keeps the row for as long as a grant made through it lives).
-- Other clients have none: they stay until deleted.
ALTER TABLE oauth_clients ADD COLUMN expires_at TIMESTAMP
    CHECK (expires_at IS NULL OR registration = 'metadata');
UPDATE oauth_clients SET expires_at = created_at WHERE registration = 'metadata';
CREATE INDEX oauth_clients_expiry ON oauth_clients (expires_at) WHERE expires_at IS NOT NULL;
-- Cleanup asks whether anything refers to a client.
CREATE INDEX oauth_auth_requests_client ON oauth_auth_requests (client_id);
CREATE INDEX oauth_tokens_client ON oauth_tokens (client_id);
