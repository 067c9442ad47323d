-- Two records nothing read. modules.instrumenter_version named the fuel
-- rewriter a module was checked with, but modules are stored as built and
-- the sandbox instruments them on every load (its on-disk cache is keyed by
-- the instrumenter version), so the stored value could never be stale in a
-- way that mattered. module_builds mapped a build's inputs to its module;
-- the build pool shares identical builds in memory, and the audit row of
-- each build keeps its source key.
DROP TABLE module_builds;
ALTER TABLE modules DROP COLUMN instrumenter_version;
