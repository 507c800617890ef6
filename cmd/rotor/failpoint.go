//go:build rotor_failpoint

package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// failpoint returns the engine's failpoint hook for ROTOR_TEST_FAILPOINT, a
// test-only setting naming one point ("before:setSecret",
// "invoked:setSecret", "after:finishSecret", ...). When the engine reaches
// it, the server says so on standard error and stops there for good, so a
// crash test can SIGKILL it at an exact point of a rotation. It exists only
// in binaries built with -tags rotor_failpoint (the crash tests build one);
// other builds have failpoint_off.go's.
func failpoint(point string, log *slog.Logger) func(string) {
	if point == "" {
		return nil
	}
	return func(p string) {
		if !strings.EqualFold(p, point) {
			return
		}
		log.Warn("failpoint reached", "point", p)
		fmt.Fprintf(os.Stderr, "ROTOR_TEST_FAILPOINT %s reached\n", p)
		select {}
	}
}
