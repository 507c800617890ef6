//go:build !rotor_failpoint

package main

import "log/slog"

// failpoint returns no hook: an ordinary build has no failpoints, so no
// environment variable can stop its rotation workers. Binaries built with
// -tags rotor_failpoint (the crash tests) honour ROTOR_TEST_FAILPOINT; see
// failpoint.go.
func failpoint(string, *slog.Logger) func(string) { return nil }
