"""Test handler that calls Rotor back as AWS's rotation templates do.

It builds its boto3 client both ways the templates and SDKs do: with
endpoint_url=SECRETS_MANAGER_ENDPOINT, and from the environment alone
(AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_REGION, AWS_ACCESS_KEY_ID, ...).
"""
import os

import boto3


def lambda_handler(event, context):
    clients = [
        boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"]),
        boto3.client("secretsmanager"),
    ]
    for client in clients:
        metadata = client.describe_secret(SecretId=event["SecretId"])
        if not metadata["RotationEnabled"]:
            raise ValueError("Secret %s is not enabled for rotation" % event["SecretId"])
        stages = metadata["VersionIdsToStages"].get(event["ClientRequestToken"], [])
        if "AWSPENDING" not in stages:
            raise ValueError("Secret version %s not set as AWSPENDING" % event["ClientRequestToken"])
