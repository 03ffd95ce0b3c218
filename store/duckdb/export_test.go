package duckdb

// SetCompactChunkRows sets the rows one sort of a rewrite holds, for
// tests that split small periods; it returns the restore.
func SetCompactChunkRows(n int64) func() {
	old := compactChunkRows
	compactChunkRows = n
	return func() { compactChunkRows = old }
}
