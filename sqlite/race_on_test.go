//go:build race

package sqlite

// raceEnabled reports a -race build, ~15 times slower at opening Stores:
// TestWALOpenCloseCycles runs without it.
const raceEnabled = true
