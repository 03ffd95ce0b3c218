package duckdb

// SetCompactChunkRows sets the rows one sort of a rewrite holds, for
// tests that split small periods; it returns the restore.
func SetCompactChunkRows(n int64) func() {
	old := compactChunkRows
	compactChunkRows = n
	return func() { compactChunkRows = old }
}

// SetMaxChanges sets the entries the change log holds before it merges
// old ones; it returns the restore.
func SetMaxChanges(n int) func() {
	old := maxChanges
	maxChanges = n
	return func() { maxChanges = old }
}
