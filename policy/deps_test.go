package policy_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Package policy is pure: it imports only the standard library, so auth,
// the console and any tool can evaluate policies without pulling in
// storage, encryption or the wire server.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) != 1 || deps[0] != "github.com/rotorhq/rotor/policy" {
		t.Errorf("policy depends on non-standard packages: %q", deps)
	}
}
