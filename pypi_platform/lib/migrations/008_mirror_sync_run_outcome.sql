-- How each sync run ended: a run cut short (the object store or the upstream went away) is recorded too, with
-- the error that stopped it, rather than leaving no row at all.
ALTER TABLE mirror.sync_runs
    ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT 'succeeded' CHECK (status IN ('succeeded', 'failed')),
    ADD COLUMN IF NOT EXISTS error  TEXT;
