package client_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The client library (and the example built on it) must not depend on any
// Rotor server package: applications import it to talk to Rotor or AWS,
// and must not pull in storage, encryption or the wire server. Only the
// root package (domain types and error codes, standard library only) and
// the client packages themselves are allowed, tests included; the tests may
// also use internal/testsvc, which finds the test servers (standard library
// only).
func TestNoServerDependencies(t *testing.T) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command("go", "list", "-deps", "-test", "-f", "{{.ImportPath}}", "./client/...", "./examples/...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const module = "github.com/rotorhq/rotor"
	checked := 0
	for _, pkg := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, _, _ = strings.Cut(pkg, " ") // test variants: "p_test [p.test]"
		pkg = strings.TrimSuffix(strings.TrimSuffix(pkg, ".test"), "_test")
		if pkg != module && !strings.HasPrefix(pkg, module+"/") {
			continue
		}
		checked++
		switch {
		case pkg == module,
			pkg == module+"/client", strings.HasPrefix(pkg, module+"/client/"),
			strings.HasPrefix(pkg, module+"/examples/"),
			pkg == module+"/internal/testsvc":
		default:
			t.Errorf("the client library depends on the server package %s", pkg)
		}
	}
	if checked < 5 {
		t.Fatalf("go list found only %d Rotor packages; the check is not looking at the client", checked)
	}
}
