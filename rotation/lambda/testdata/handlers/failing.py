"""Test handler that fails the way AWS's rotation templates do."""


def lambda_handler(event, context):
    raise ValueError("Invalid step parameter %s for secret %s" % (event["Step"], event["SecretId"]))
