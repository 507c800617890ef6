package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
)

func setupKeysAdd(_ *flag.FlagSet, x *cmdline) action {
	return func(_ context.Context, pos, _ []string) error {
		return keysAdd(pos[0], x.stdout)
	}
}

// keysAdd is `rotor keys add FILE`: offline, it stages a new
// key-encryption key in the key file FILE — added, inactive — so that it
// can be given to every server sharing a database before any of them seals
// under it; `rotor keys rotate` then activates it. It talks to no server.
func keysAdd(path string, stdout io.Writer) error {
	kr, err := envelope.LoadFile(path)
	if err != nil {
		return fmt.Errorf("keys add: %s", rotor.ErrorMessage(err))
	}
	if staged, ok := kr.Staged(); ok {
		return fmt.Errorf("keys add: %s already has a staged key, %s: give that file to every server, then run 'rotor keys rotate' to activate it", path, staged.ID)
	}
	meta, err := kr.AddInactiveKey()
	if err != nil {
		return fmt.Errorf("keys add: %s", rotor.ErrorMessage(err))
	}
	if err := kr.SaveFile(path); err != nil {
		return fmt.Errorf("keys add: %s", rotor.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "Staged key-encryption key %s in %s (inactive; %s stays active).\n", meta.ID, path, kr.ActiveID())
	fmt.Fprintf(stdout, "Give this file to every server as its key file (a running server reads it again by itself), then run 'rotor keys rotate'.\n")
	return nil
}
