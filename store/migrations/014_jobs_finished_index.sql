-- Finished jobs by age, for the scheduler's retention sweep (PruneJobs), which deletes the
-- oldest first a batch at a time.
CREATE INDEX jobs_finished_idx ON jobs (finished_at, id) WHERE finished_at IS NOT NULL;
