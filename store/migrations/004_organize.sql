-- EXIF dates of images, read by organize jobs; a scan that sees a file change clears them.
ALTER TABLE files
    ADD COLUMN taken_at  timestamptz,
    ADD COLUMN exif_read boolean NOT NULL DEFAULT false;

-- Organize plans move files: an item's destination (root and path). The path is journaled
-- again when execute has to take a suffixed name.
ALTER TABLE plan_items
    ADD COLUMN dst_root_id bigint REFERENCES roots(id) ON DELETE CASCADE,
    ADD COLUMN dst_path    text COLLATE "C" NOT NULL DEFAULT '';

-- An organize preview may plan from the catalog as it is, without a job.
ALTER TABLE plans ALTER COLUMN job_id DROP NOT NULL;

-- Named sets of organize rules, for the rules methodology ("rule_set": "<name>").
CREATE TABLE organize_rule_sets (
    name        text PRIMARY KEY,
    description text NOT NULL DEFAULT '',
    rules       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
