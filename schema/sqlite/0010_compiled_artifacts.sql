-- Compiled tool modules shared between nodes (sandbox/artifact.go): a file
-- of wazero's compilation cache, keyed by what makes it usable on a node
-- (the module, the fuel instrumenter, wazero's version, the platform and a
-- probe of the CPU features wazero compiled for). A row without data is a
-- node's claim to compile the module for the others, until claimed_until.
CREATE TABLE compiled_artifacts (
    module_hash    TEXT NOT NULL CHECK (length(module_hash) = 64),
    instrumenter   TEXT NOT NULL CHECK (instrumenter <> ''),
    wazero_version TEXT NOT NULL CHECK (wazero_version <> ''),
    platform       TEXT NOT NULL CHECK (platform <> ''),
    cpu            TEXT NOT NULL CHECK (cpu <> ''),
    name           TEXT,
    sha256         TEXT,
    size           INTEGER NOT NULL DEFAULT 0,
    data           BLOB,
    claimed_until  TIMESTAMP,
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (module_hash, instrumenter, wazero_version, platform, cpu)
);
CREATE INDEX compiled_artifacts_created ON compiled_artifacts (created_at);
