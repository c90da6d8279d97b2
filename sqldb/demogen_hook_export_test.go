package sqldb

// DemoGenHooked returns g with a function that runs at the end of each
// village's transaction, just before it commits; an error rolls that
// village back and stops the run, as a crash there would.
func DemoGenHooked(g DemoGen, beforeCommit func(step int) error) DemoGen {
	g.beforeCommit = beforeCommit
	return g
}
