package main

import "strings"

// clientFlags are the flags every client command takes; they may also come
// before the command (`rotor --endpoint URL keys list`).
var clientFlags = map[string]bool{"endpoint": true, "region": true, "profile": true, "output": true, "o": true}

// hoistClientFlags moves client flags given before the command to the end
// of args, where the client's flag parsing finds them. Anything else is
// left as it is, so a misplaced flag still gets its usage error.
func hoistClientFlags(args []string) []string {
	var front []string
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
	if len(front) == 0 || len(args) == 0 {
		return append(args, front...)
	}
	return append(args[:len(args):len(args)], front...)
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
