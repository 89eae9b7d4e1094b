-- No query looks files up by BLAKE3: duplicates are grouped from the rows of their scopes
-- (store.identities), never through this index. But it made every hash write a non-HOT
-- update, which adds an entry to each of the table's eight indexes (the trigram GIN index on
-- names too) for every file hashed. Measured on the 20,000-file bench tree (benchtool ffhash,
-- 4 jobs each, after the job_counters deadlock fix): a hash job 3.1–3.9 s → 2.4–2.7 s, a
-- local dedupe scan 3.3–3.8 s → 2.7 s.
DROP INDEX IF EXISTS files_blake3_idx;
