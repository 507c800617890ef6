//go:build !linux

package lambda

import "errors"

// LandlockSupported always fails: Landlock is a Linux feature.
func LandlockSupported() error {
	return errors.New("Landlock is only available on Linux; set isolation = \"none\"")
}

// sandboxLauncher is never started: Invoke refuses IsolationLandlock when
// LandlockSupported fails.
const sandboxLauncher = ""

// ProtectProcess does nothing outside Linux.
func ProtectProcess() error { return nil }
