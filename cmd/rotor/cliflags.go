package main

import "strings"

// clientFlags are the flags every client command takes; they may also come
// before the command (`rotor --endpoint URL keys list`).
var clientFlags = map[string]bool{"endpoint": true, "region": true, "profile": true, "output": true, "o": true}

// leadingClientFlags splits off the client flags given before the command
// (with their values) from the rest of args. The dispatcher hands them to
// the leaf command ahead of its own arguments, so they are parsed as if
// written right after the command's name — in particular before a "--",
// after which every argument is positional (`rotor --endpoint URL secret
// get -- -odd-name`). Anything else stays in rest, so a misplaced flag
// still gets its usage error.
func leadingClientFlags(args []string) (front, rest []string) {
	for len(args) > 0 {
		name, hasValue := flagName(args[0])
		if !clientFlags[name] {
			break
		}
		n := 2
		if hasValue || len(args) < 2 {
			n = min(1, len(args))
		}
		front = append(front, args[:n]...)
		args = args[n:]
	}
	return front, args
}

// flagName returns the name of a "-name", "--name" or "--name=value"
// argument ("" if arg is not a flag) and whether the value is attached.
func flagName(arg string) (string, bool) {
	if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
		return "", false
	}
	name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		return name[:i], true
	}
	return name, false
}
