-- The wizard's work in progress is leased: the node running a step holds
-- lease_token until lease_until and renews it while it works. A node that
-- dies leaves a session whose lease expires, and any node's resume scan
-- (pkg/wizard Run) takes it over. Both are NULL while nobody works on it.
ALTER TABLE wizard_sessions ADD COLUMN lease_token TEXT;
ALTER TABLE wizard_sessions ADD COLUMN lease_until TIMESTAMP;
CREATE INDEX wizard_sessions_lease ON wizard_sessions (lease_until) WHERE lease_until IS NOT NULL;

-- A session's progress, in order: what the Server-Sent Events stream
-- replays to a client that reconnects with Last-Event-ID. seq counts from 1
-- per session; it is allocated under the session row's lock.
CREATE TABLE wizard_events (
    session_id TEXT NOT NULL REFERENCES wizard_sessions (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL CHECK (seq > 0),
    kind       TEXT NOT NULL CHECK (kind <> ''),
    tool       TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- One row per LLM call the wizard makes: the plan's daily quota counts
-- them, and operators read usage per customer from them. The row is written
-- before the call (under the customer's lock, so concurrent calls cannot
-- both slip under the quota) and completed with who answered after it.
CREATE TABLE wizard_generations (
    id             TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    session_id     TEXT NOT NULL,
    tool           TEXT NOT NULL DEFAULT '',
    purpose        TEXT NOT NULL CHECK (purpose <> ''),
    prompt_version TEXT NOT NULL CHECK (prompt_version <> ''),
    provider       TEXT NOT NULL DEFAULT '',
    model          TEXT NOT NULL DEFAULT '',
    input_tokens   INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens  INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    outcome        TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX wizard_generations_customer ON wizard_generations (customer_id, created_at);
