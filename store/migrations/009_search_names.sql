-- Name order for search: lower(name), root_id and path as keys (the exact order of a search
-- sorted by name) and name included, so that a name search walks it index-only, filtering on
-- the term without reading the table (store.Search). It replaces the lower(name) index.
DROP INDEX files_lower_name_idx;
CREATE INDEX files_name_order_idx ON files (lower(name), root_id, path) INCLUDE (name)
    WHERE NOT deleted AND NOT starts_with(path, '.filefleet-trash/');

-- (root_id, dir, path) served no query (directory listings read storage; statistics group the
-- whole catalog), yet every scanned row paid for it.
DROP INDEX files_root_dir_idx;
