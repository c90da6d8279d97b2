package web

// LimitXLSXRecords sets how many records an XLSX export takes, until the
// returned function is called. Not for parallel tests.
func LimitXLSXRecords(n int) (restore func()) {
	old := maxXLSXRecords
	maxXLSXRecords = n
	return func() { maxXLSXRecords = old }
}
