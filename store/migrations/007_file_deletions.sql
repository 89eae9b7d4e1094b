-- The journal of DELETE /files/{id}: one row per deletion, written before the file is touched
-- and completed after, so an interrupted deletion shows where the file went.
CREATE TABLE file_deletions (
    id          bigserial PRIMARY KEY,
    file_id     bigint NOT NULL,
    root_id     bigint NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    path        text COLLATE "C" NOT NULL,
    trash_path  text NOT NULL DEFAULT '',  -- '' when removed for good
    user_id     bigint REFERENCES users(id) ON DELETE SET NULL,
    request_id  text NOT NULL DEFAULT '',
    state       text NOT NULL DEFAULT 'in_progress', -- in_progress, done, failed
    message     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
