-- Content hashes of the catalog. A scan that sees a file change (size, mtime or etag) clears
-- them, so a hash present is a hash of the file as the catalog describes it.
ALTER TABLE files
    ADD COLUMN file_key     text NOT NULL DEFAULT '', -- same key, same file (hard links on local)
    ADD COLUMN hash_partial bytea,                    -- BLAKE3 of the first and last 16 KiB
    ADD COLUMN hash_blake3  bytea,
    ADD COLUMN hash_sha256  bytea,
    ADD COLUMN hash_md5     bytea;
CREATE INDEX files_blake3_idx ON files (hash_blake3, size) WHERE NOT deleted AND hash_blake3 IS NOT NULL;

-- Counters a job adds to from many tasks (bytes read per stage...).
CREATE TABLE job_counters (
    job_id  uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    name    text NOT NULL,
    value   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, name)
);

-- The duplicate groups a dedupe scan found.
CREATE TABLE dedupe_groups (
    id        bigserial PRIMARY KEY,
    job_id    uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    hash      bytea NOT NULL,
    size      bigint NOT NULL,
    file_ids  bigint[] NOT NULL,
    UNIQUE (job_id, hash, size)
);

-- Plans of destructive work, approved by executing them.
CREATE TABLE plans (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL,            -- dedupe
    job_id      uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, -- the scan it plans from
    status      text NOT NULL,
    params      jsonb NOT NULL DEFAULT '{}',
    exec_job_id uuid,
    undo_job_id uuid,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plans_job_idx ON plans (job_id, created_at DESC);

-- The journal: one row per file a plan acts on, with its state.
CREATE TABLE plan_items (
    plan_id     uuid NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    seq         int NOT NULL,
    group_id    bigint NOT NULL,
    action      text NOT NULL,            -- keep, trash, delete, report
    root_id     bigint NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    path        text COLLATE "C" NOT NULL,
    size        bigint NOT NULL,
    mtime       timestamptz NOT NULL,
    hash        bytea NOT NULL,
    keep_seq    int NOT NULL,             -- the item kept in this group
    trash_path  text NOT NULL DEFAULT '',
    state       text NOT NULL DEFAULT 'planned',
    message     text NOT NULL DEFAULT '',
    PRIMARY KEY (plan_id, seq)
);

-- A unit's task, so that any process can queue an open unit again (after a crash between
-- commit and enqueue).
ALTER TABLE job_units ADD COLUMN task_type text NOT NULL DEFAULT '', ADD COLUMN payload bytea;
