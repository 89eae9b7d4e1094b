-- Why a schedule's last tick failed for good (its job invalid or in conflict, Redis or
-- PostgreSQL unavailable past the late limit): shown in the API; the next run clears it.
ALTER TABLE schedules ADD COLUMN IF NOT EXISTS last_error text NOT NULL DEFAULT '';
ALTER TABLE schedules ADD COLUMN IF NOT EXISTS last_error_at timestamptz;
