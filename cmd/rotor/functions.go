package main

import (
	"fmt"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// registerFunctions adds the operator's exec, python and http functions to
// reg. Built-in functions are registered separately. protect lists the
// server's files no sandboxed function may reach (see Config.Protected).
// It refuses a sandboxed function when the kernel cannot sandbox it
// (landlockErr, from lambda.LandlockSupported, is not nil).
func registerFunctions(reg *rotation.Registry, fns []FunctionConfig, getenv func(string) string, protect []string, landlockErr error) error {
	for _, f := range fns {
		if f.sandboxed() && landlockErr != nil {
			return fmt.Errorf("function %s cannot be sandboxed: %v. Run Rotor on a kernel with Landlock enabled (lsm=landlock,...), or set isolation = \"none\" for this function to let it read everything the server's user can, including the keyring and the database (docs/security.md)", f.Name, landlockErr)
		}
		fn, err := newFunction(f, getenv, protect)
		if rotor.ErrorCode(err) == rotor.EINVALID {
			// The operator reads this at startup: the message, not the code.
			return fmt.Errorf("function %s: %s", f.Name, rotor.ErrorMessage(err))
		}
		if err != nil {
			return fmt.Errorf("function %s: %w", f.Name, err)
		}
		reg.Register(f.Name, f.Kind, f.Regions, fn)
	}
	return nil
}

// newFunction builds one function from its declaration.
func newFunction(f FunctionConfig, getenv func(string) string, protect []string) (lambda.Function, error) {
	switch f.Kind {
	case "exec", "python":
		var e *lambda.Exec
		if f.Kind == "python" {
			python := f.Python
			if python == "" {
				python = "python3"
			}
			var err error
			if e, err = lambda.PythonHandler(python, f.Dir, f.Handler); err != nil {
				return nil, err
			}
		} else {
			e = &lambda.Exec{Command: f.Command, Dir: f.Dir}
		}
		e.Env, e.PassEnv, e.User, e.Timeout = f.Env, f.PassEnv, f.User, f.Timeout.Duration
		e.Isolation, e.ReadPaths, e.WritePaths, e.Protect = lambda.Isolation(f.Isolation), f.ReadPaths, f.WritePaths, protect
		if err := e.Validate(); err != nil {
			return nil, err
		}
		return e, nil
	case "http":
		h := &lambda.HTTP{URL: f.URL, Timeout: f.Timeout.Duration}
		if f.HMACSecretEnv != "" {
			key := getenv(f.HMACSecretEnv)
			if key == "" {
				return nil, fmt.Errorf("hmac_secret_env names %s, but that environment variable is empty", f.HMACSecretEnv)
			}
			h.Secret = []byte(key)
		}
		if err := h.Validate(); err != nil {
			return nil, err
		}
		return h, nil
	}
	return nil, fmt.Errorf("unknown kind %q", f.Kind)
}
