-- OAuth 2.1 authorization server (pkg/oauth) and local accounts.
-- List columns (redirect URIs, scopes) hold JSON arrays as text.

-- Local sign-in for a user: argon2id hash (PHC string) and lockout state.
CREATE TABLE local_accounts (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- Clients registered dynamically (RFC 7591) or by an operator.
CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL DEFAULT '',
    redirect_uris TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

-- Authorization requests from /authorize until the code is exchanged.
-- request holds the op AuthRequest as JSON; code_hash is SHA-256 of the code;
-- used_at marks a code exchanged (kept until expiry to detect a replay).
CREATE TABLE oauth_auth_requests (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    request     TEXT NOT NULL,
    resource    TEXT NOT NULL,
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    auth_time   TIMESTAMPTZ,
    code_hash   BYTEA UNIQUE,
    used_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

-- Access and refresh tokens. Refresh tokens are stored as SHA-256 hashes;
-- every refresh token of one grant shares family_id, so reusing a rotated
-- one revokes the family (and its access tokens).
CREATE TABLE oauth_tokens (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    family_id   TEXT NOT NULL,
    token_hash  BYTEA UNIQUE,
    client_id   TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    resource    TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    auth_time   TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    rotated_at  TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id);

-- Token signing keys, private part sealed by pkg/secrets.
CREATE TABLE oauth_signing_keys (
    id          TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    retired_at  TIMESTAMPTZ
);

-- Browser sessions of signed-in users (cookie kiln_session); the cookie's
-- value is stored as its SHA-256.
CREATE TABLE user_sessions (
    id_hash    BYTEA PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);
