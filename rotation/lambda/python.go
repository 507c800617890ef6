package lambda

import (
	_ "embed"
	"os"
	"path/filepath"
	"regexp"
)

// bootstrap is the Python program that loads and calls the handler.
//
//go:embed bootstrap.py
var bootstrap string

// handlerPattern is a Lambda Python handler: a dotted module path, a dot,
// and the name of a function in that module.
var handlerPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$`)

// PythonHandler returns an Exec that runs an AWS-style Python Lambda handler unchanged: it runs python
// (the given interpreter, e.g. "python3") with a small bootstrap (embedded in this package as a .py file via go:embed and
// passed with -c) that reads the event JSON from stdin, imports module `mod` from dir and calls
// `mod.fn(event, context)` with a minimal context object (function_name, aws_request_id,
// get_remaining_time_in_millis()). An exception → exit status 1 with a JSON line {"errorType":..., "errorMessage":...}
// on stderr, as Lambda reports it.
//
// The handler is "module.function" as in Lambda's configuration (for
// example "lambda_function.lambda_handler"); the module may be dotted
// (package.module.function). dir, the task root, becomes the working
// directory and HOME; it is made absolute and must be an existing directory.
// python is resolved at invoke time like any Exec command: an absolute path,
// or a name looked up in the function's PATH (DefaultPath unless Env or
// PassEnv gives one), which may not be the interpreter the server's own PATH
// finds. The interpreter runs with -B so no bytecode is written into dir.
//
// Like the Lambda runtime, the bootstrap sends the root logger to stdout (so
// the templates' logger.info lines reach Result.Output), prints a returned
// value as JSON, and reports import failures as Runtime.ImportModuleError,
// Runtime.UserCodeSyntaxError or Runtime.HandlerNotFound. context.function_name
// is AWS_LAMBDA_FUNCTION_NAME when Env sets it, else the handler string.
// The caller may set the returned Exec's Env, PassEnv, User and Timeout.
//
// PythonHandler returns an EINVALID *rotor.Error when python is empty, dir is
// not an existing directory, or handler is not of the form module.function.
func PythonHandler(python, dir, handler string) (*Exec, error) {
	if python == "" {
		return nil, invalidf("A Python handler needs an interpreter.")
	}
	if !handlerPattern.MatchString(handler) {
		return nil, invalidf("The handler %q must be of the form module.function.", handler)
	}
	if dir == "" {
		return nil, invalidf("A Python handler needs the directory holding its module.")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, invalidf("The handler directory %q is not valid.", dir)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, invalidf("The handler directory %q does not exist or is not a directory.", abs)
	}
	e := &Exec{
		Command:     []string{python, "-B", "-c", bootstrap, abs, handler},
		Dir:         abs,
		deadlineArg: true,
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}
