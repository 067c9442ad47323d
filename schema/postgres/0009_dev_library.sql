-- The development library (pkg/devlibrary): one row saying which node
-- builds the curated library of a source checkout and how far it got.
-- lease_token and lease_until say who holds the work (NULL: nobody); a node
-- that dies leaves a lease that expires. status is the progress the
-- library page shows, as JSON.
CREATE TABLE dev_library (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    lease_token TEXT,
    lease_until TIMESTAMPTZ,
    status      JSONB NOT NULL DEFAULT '{}',
    updated_at  TIMESTAMPTZ NOT NULL
);
