package main

import (
	"fmt"

	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/lambda"
)

// registerFunctions adds the operator's exec, python and http functions to
// reg. Built-in functions are registered separately.
func registerFunctions(reg *rotation.Registry, fns []FunctionConfig, getenv func(string) string) error {
	for _, f := range fns {
		fn, err := newFunction(f, getenv)
		if err != nil {
			return fmt.Errorf("function %s: %w", f.Name, err)
		}
		reg.Register(f.Name, f.Kind, f.Regions, fn)
	}
	return nil
}

// newFunction builds one function from its declaration.
func newFunction(f FunctionConfig, getenv func(string) string) (lambda.Function, error) {
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
