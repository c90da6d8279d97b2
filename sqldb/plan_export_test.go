package sqldb

// HearStatements has fn hear every statement SQLite runs, until the
// returned function is called.
func HearStatements(fn func(query string)) (stop func()) {
	statementSeen.Store(&fn)
	return func() { statementSeen.Store(nil) }
}

// PaycodeSweep is the statement every pay-code fetch runs to delete used
// codes.
const PaycodeSweep = paycodeSweep
