-- Storage roots; secret holds the AES-GCM sealed credentials.
CREATE TABLE roots (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    kind        text NOT NULL,
    config      jsonb NOT NULL DEFAULT '{}',
    secret      bytea,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    type         text NOT NULL,
    status       text NOT NULL,
    root_id      bigint REFERENCES roots(id) ON DELETE SET NULL,
    root_name    text NOT NULL DEFAULT '',
    params       jsonb NOT NULL DEFAULT '{}',
    units_total  bigint NOT NULL DEFAULT 0,
    units_done   bigint NOT NULL DEFAULT 0,
    files        bigint NOT NULL DEFAULT 0,
    bytes        bigint NOT NULL DEFAULT 0,
    result       jsonb,
    error        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);
CREATE INDEX jobs_created_idx ON jobs (created_at DESC, id);
CREATE INDEX jobs_status_idx ON jobs (status, created_at DESC);

-- One row per task of a job; done flips exactly once, which makes counters idempotent.
CREATE TABLE job_units (
    job_id       uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    unit         text NOT NULL,
    done         boolean NOT NULL DEFAULT false,
    worker       text NOT NULL DEFAULT '',
    finished_at  timestamptz,
    PRIMARY KEY (job_id, unit)
);

CREATE TABLE job_events (
    id          bigserial PRIMARY KEY,
    job_id      uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    type        text NOT NULL,
    payload     json NOT NULL, -- json, not jsonb: replayed byte for byte
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_events_job_idx ON job_events (job_id, id);

CREATE SEQUENCE scan_generation;

-- The catalog. Paths sort and compare bytewise (COLLATE "C") like the storage listings.
CREATE TABLE files (
    id          bigserial PRIMARY KEY,
    root_id     bigint NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    path        text COLLATE "C" NOT NULL,
    dir         text COLLATE "C" NOT NULL,
    name        text NOT NULL,
    ext         text NOT NULL DEFAULT '',
    size        bigint NOT NULL,
    mtime       timestamptz NOT NULL,
    etag        text NOT NULL DEFAULT '',
    mime_type   text,
    scan_gen    bigint NOT NULL,
    deleted     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (root_id, path)
);
CREATE INDEX files_root_dir_idx ON files (root_id, dir, path);
