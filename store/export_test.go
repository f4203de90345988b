package store

// SetRequestScan makes a page of Requests read at most n rows, until the
// test ends (undo).
func SetRequestScan(n int64) (undo func()) {
	old := requestScan
	requestScan = n
	return func() { requestScan = old }
}
