// Package crashtest holds tests that run the real jifen binary as separate
// processes: TestCrashSafety kills `jifen serve` with SIGKILL under write
// load and checks what survived; TestTwoInstances runs two servers on one
// PostgreSQL database and checks that they behave as one; the config
// tests check what docs/instances.md tells operators. The package has no
// code of its own: everything is in its _test.go files.
//
//	go test ./crashtest/                                    # SQLite, 3 kills
//	JIFEN_TEST_POSTGRES=postgres://… go test ./crashtest/   # and PostgreSQL
//	JIFEN_CRASH_ROUNDS=50 go test ./crashtest/ -run TestCrashSafety -timeout 60m
//	JIFEN_TEST_BUGS=1 go test ./crashtest/                  # known bugs fail instead of skipping
package crashtest
