"""A rotation function written the way AWS writes them.

It follows the skeleton of AWS's published Secrets Manager rotation template
(lambda_handler dispatching on event["Step"], the DescribeSecret checks, and
the four steps), talks to the endpoint in SECRETS_MANAGER_ENDPOINT with
boto3, and changes nothing but the secret itself (its "target" is the secret:
set_secret and test_secret only check the pending value). Rotor runs it
unchanged through an exec function with the Python handler bootstrap.
"""
import json
import logging
import os

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    arn = event["SecretId"]
    token = event["ClientRequestToken"]
    step = event["Step"]

    service_client = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])

    metadata = service_client.describe_secret(SecretId=arn)
    if not metadata["RotationEnabled"]:
        raise ValueError("Secret %s is not enabled for rotation" % arn)
    versions = metadata["VersionIdsToStages"]
    if token not in versions:
        raise ValueError("Secret version %s has no stage for rotation of secret %s." % (token, arn))
    if "AWSCURRENT" in versions[token]:
        logger.info("Secret version %s already set as AWSCURRENT for secret %s.", token, arn)
        return
    elif "AWSPENDING" not in versions[token]:
        raise ValueError("Secret version %s not set as AWSPENDING for rotation of secret %s." % (token, arn))

    if step == "createSecret":
        create_secret(service_client, arn, token)
    elif step == "setSecret":
        set_secret(service_client, arn, token)
    elif step == "testSecret":
        test_secret(service_client, arn, token)
    elif step == "finishSecret":
        finish_secret(service_client, arn, token)
    else:
        raise ValueError("Invalid step parameter")


def create_secret(service_client, arn, token):
    current = json.loads(service_client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    try:
        service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        logger.info("createSecret: Successfully retrieved secret for %s.", arn)
    except service_client.exceptions.ResourceNotFoundException:
        exclude_characters = os.environ.get("EXCLUDE_CHARACTERS", "/@\"'\\")
        passwd = service_client.get_random_password(
            ExcludeCharacters=exclude_characters,
            PasswordLength=int(os.environ.get("PASSWORD_LENGTH", "32")),
            ExcludeNumbers=False, ExcludePunctuation=False, ExcludeUppercase=False,
            ExcludeLowercase=False, RequireEachIncludedType=True,
        )
        current["password"] = passwd["RandomPassword"]
        current["rotations"] = int(current.get("rotations", 0)) + 1
        service_client.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                        SecretString=json.dumps(current), VersionStages=["AWSPENDING"])
        logger.info("createSecret: Successfully put secret for ARN %s and version %s.", arn, token)


def set_secret(service_client, arn, token):
    pending = json.loads(service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"])
    if os.environ.get("FAIL_STEP") == "setSecret":
        raise RuntimeError("setSecret: target refused the new password %s" % pending["password"])
    try:
        service_client.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")
    except service_client.exceptions.ResourceNotFoundException:
        pass


def test_secret(service_client, arn, token):
    pending = json.loads(service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"])
    if len(pending["password"]) < 8:
        raise ValueError("testSecret: pending password too short")


def finish_secret(service_client, arn, token):
    metadata = service_client.describe_secret(SecretId=arn)
    current_version = None
    for version in metadata["VersionIdsToStages"]:
        if "AWSCURRENT" in metadata["VersionIdsToStages"][version]:
            if version == token:
                logger.info("finishSecret: Version %s already marked as AWSCURRENT for %s", version, arn)
                return
            current_version = version
            break
    service_client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                               MoveToVersionId=token, RemoveFromVersionId=current_version)
    logger.info("finishSecret: Successfully set AWSCURRENT stage to version %s for secret %s.", token, arn)
