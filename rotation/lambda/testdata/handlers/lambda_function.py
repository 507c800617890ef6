"""Test handler: records what it saw, so the Go test can check it.

It writes a JSON object to the file named by ROTOR_TEST_OUT with the event,
the environment variables a rotation function relies on, and the context
object's attributes, then returns a value (which the bootstrap prints).
"""
import json
import logging
import os

logger = logging.getLogger()
logger.setLevel(logging.INFO)

ENV_NAMES = [
    "SECRETS_MANAGER_ENDPOINT",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "HOME",
]


def lambda_handler(event, context):
    logger.info("rotating step %s", event["Step"])
    seen = {
        "event": event,
        "env": {name: os.environ.get(name) for name in ENV_NAMES},
        "cwd": os.getcwd(),
        "function_name": context.function_name,
        "aws_request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
    with open(os.environ["ROTOR_TEST_OUT"], "w") as f:
        json.dump(seen, f)
    return {"handled": event["Step"]}
