// Package e2e holds browser journeys: the real web handler over a fresh
// database loaded with the demo county, driven by headless Chromium on a
// phone-sized window. The package has only tests; run them with
//
//	go test ./e2e/
//
// Chromium comes from $JIFEN_CHROMIUM, /usr/bin/chromium or chromium on
// PATH. Without one the tests skip, except when CI is set: then they fail.
// JIFEN_TEST_POSTGRES adds a PostgreSQL run, and JIFEN_SCREENSHOTS=1 keeps
// the screenshots in testdata/screenshots for a person to look at.
package e2e
