# Rotor's bootstrap for AWS-style Python Lambda handlers (see PythonHandler in
# python.go). Run as: python -B -c <this file> <task root> <module.function> <deadline>
# where <deadline> is the step's deadline in Unix milliseconds (added by
# Rotor at invoke time). The event JSON is read from stdin.
#
# It behaves like the Lambda Python runtime where a rotation function can
# tell: the handler is called as fn(event, context); the root logger prints
# to stdout (so the templates' logger.info lines reach the run history); an
# uncaught exception prints its traceback and then, as the last line on
# stderr, {"errorType": ..., "errorMessage": ...}, and the process exits 1.
# A value the handler returns is printed to stdout as JSON.

import importlib
import json
import logging
import os
import sys
import time
import traceback
import uuid


def fail(error_type, message):
    sys.stdout.flush()
    sys.stderr.write(json.dumps({"errorType": error_type, "errorMessage": message}) + "\n")
    sys.stderr.flush()
    sys.exit(1)


class LambdaContext:
    """The parts of Lambda's context object a rotation function may use."""

    def __init__(self, function_name, deadline_ms):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = "128"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = "/rotor/" + function_name
        self.log_stream_name = self.aws_request_id
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def main(argv):
    if len(argv) != 4:
        fail("Runtime.InvalidArguments", "usage: bootstrap <task root> <module.function> <deadline ms>")
    task_root, handler, deadline = argv[1], argv[2], argv[3]
    sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(stream=sys.stdout, format="[%(levelname)s]\t%(asctime)s\t%(message)s")

    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        fail("Runtime.MalformedHandlerName", "Bad handler '%s': not enough values to unpack" % handler)
    sys.path.insert(0, task_root)
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as e:
        fail("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_name, e))
    except Exception as e:
        fail("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, e))
    fn = getattr(module, function_name, None)
    if not callable(fn):
        fail("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (function_name, module_name))

    try:
        event = json.load(sys.stdin)
    except Exception as e:
        fail("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)

    context = LambdaContext(os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or handler, int(deadline))
    try:
        result = fn(event, context)
    except Exception as e:
        traceback.print_exc()
        fail(type(e).__name__, str(e))
    if result is not None:
        try:
            print(json.dumps(result, default=str))
        except Exception:
            print(repr(result))
    sys.stdout.flush()


main(sys.argv)
