//go:build race

package policy_test

// raceEnabled reports a -race build, where allocation counts mean nothing.
const raceEnabled = true
