-- Catalog search and statistics (GET /search, /stats/*). The indexes cover live files only,
-- with the very predicate every search and statistic has (store.liveFiles), so that counts and
-- totals are index-only scans. Each index costs scan time (every upserted row updates it): see
-- "Catalog search at 1M rows" in docs/BENCHMARKS.md.

-- Name substring search: lower(name) LIKE '%term%' through trigrams. pg_trgm is a trusted
-- extension (PostgreSQL 13+): the owner of the database, or any role with CREATE on it, may
-- create it without being a superuser. Where it cannot be created (no privilege, or the
-- contrib files missing) the migration goes on without the index, and a name search scans.
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
        RAISE WARNING 'pg_trgm not available (%): name search will scan the catalog', SQLERRM;
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE $i$CREATE INDEX files_name_trgm_idx ON files USING gin (lower(name) gin_trgm_ops)
            WHERE NOT deleted AND NOT starts_with(path, '.filefleet-trash/')$i$;
    END IF;
END
$$;

-- Sort by name (search's default order, case-insensitive).
CREATE INDEX files_lower_name_idx ON files (lower(name))
    WHERE NOT deleted AND NOT starts_with(path, '.filefleet-trash/');
-- Statistics of lower(name) (partial indexes give none), so that the planner can tell a term
-- that matches many names from one that matches few.
CREATE STATISTICS files_lower_name_stats ON (lower(name)) FROM files;
-- Extension filters with a size range; per-extension statistics.
CREATE INDEX files_ext_size_idx ON files (ext, size)
    WHERE NOT deleted AND NOT starts_with(path, '.filefleet-trash/');
-- Size ranges, sort by size, size buckets, totals.
CREATE INDEX files_size_idx ON files (size)
    WHERE NOT deleted AND NOT starts_with(path, '.filefleet-trash/');
-- Modification time ranges, sort by it, growth over time.
CREATE INDEX files_mtime_idx ON files (mtime) INCLUDE (size)
    WHERE NOT deleted AND NOT starts_with(path, '.filefleet-trash/');

-- Scan history (GET /stats/scans) and the last scan of a root.
CREATE INDEX jobs_type_created_idx ON jobs (type, created_at DESC, id);
