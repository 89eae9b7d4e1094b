-- Periodic jobs: a cron spec in a time zone and the job to submit at each tick.
CREATE TABLE schedules (
    id           uuid PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    cron         text NOT NULL,
    timezone     text NOT NULL DEFAULT 'UTC',
    job          jsonb NOT NULL,
    enabled      boolean NOT NULL DEFAULT true,
    last_run_at  timestamptz,
    last_job_id  uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE jobs ADD COLUMN schedule_id uuid REFERENCES schedules(id) ON DELETE SET NULL;
CREATE INDEX jobs_schedule_idx ON jobs (schedule_id, created_at DESC) WHERE schedule_id IS NOT NULL;
