-- Every sync asks for the blobs whose grace period is over. Without an index that read walks every verified
-- object (millions in a full mirror) to find the few let go; this one holds only the blobs let go.
CREATE INDEX IF NOT EXISTS blobs_unreferenced ON mirror.blobs (unreferenced_at) WHERE unreferenced_at IS NOT NULL;
