package main

import (
	"runtime/debug"
	"strings"
)

// version names this build: Version when set with -ldflags, else the
// module version and VCS revision that the Go toolchain stamped into the
// binary (with "-dirty" when the working tree had changes), else "dev".
func version() string {
	info, ok := debug.ReadBuildInfo()
	return versionOf(Version, info, ok)
}

// versionOf is version for explicit inputs (testable without a build).
func versionOf(ldflags string, info *debug.BuildInfo, ok bool) string {
	if ldflags != "" && ldflags != "dev" {
		return ldflags
	}
	if !ok || info == nil {
		return "dev"
	}
	v := info.Main.Version
	if v == "(devel)" {
		v = ""
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" && modified == "true" {
		rev += "-dirty"
	}
	switch {
	case v != "" && rev != "" && !strings.Contains(v, strings.TrimSuffix(rev, "-dirty")):
		return v + " (" + rev + ")"
	case v != "":
		return v // a pseudo-version already names the revision (and "+dirty")
	case rev != "":
		return "dev-" + rev
	}
	return "dev"
}
