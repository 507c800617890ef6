"""Smoke test of the four resource-policy operations with boto3.

Needs ROTOR_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION in the
environment; raises on the first mismatch.
"""
import json
import os
import time

import boto3

client = boto3.client("secretsmanager", endpoint_url=os.environ["ROTOR_ENDPOINT"],
                      region_name=os.environ["AWS_REGION"])
name = f"py-respolicy-{os.getpid()}-{int(time.time() * 1000)}"
created = client.create_secret(Name=name, SecretString="v")
arn = created["ARN"]
account = arn.split(":")[4]

# No policy yet: ARN and Name, no ResourcePolicy member.
got = client.get_resource_policy(SecretId=name)
assert got["ARN"] == arn and got["Name"] == name and "ResourcePolicy" not in got, got

# The document comes back exactly as sent (white space and key order kept).
own = ('{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow",\n'
       '    "Principal": {"AWS": "arn:aws:iam::' + account + ':user/app1"},\n'
       '    "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}\n')
put = client.put_resource_policy(SecretId=name, ResourcePolicy=own, BlockPublicPolicy=True)
assert put["ARN"] == arn and put["Name"] == name, put
got = client.get_resource_policy(SecretId=arn)
assert got["ResourcePolicy"] == own, got
assert "ResourcePolicy" not in client.describe_secret(SecretId=name), "DescribeSecret shows the policy"

public = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                     "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
try:
    client.put_resource_policy(SecretId=name, ResourcePolicy=public, BlockPublicPolicy=True)
    raise AssertionError("expected PublicPolicyException")
except client.exceptions.PublicPolicyException:
    pass
try:
    client.put_resource_policy(SecretId=name, ResourcePolicy='{"Version": "2012-10-17", "Statement": [')
    raise AssertionError("expected MalformedPolicyDocumentException")
except client.exceptions.MalformedPolicyDocumentException:
    pass
assert client.get_resource_policy(SecretId=name)["ResourcePolicy"] == own, "a refused policy replaced the stored one"

valid = client.validate_resource_policy(ResourcePolicy=own)
assert valid["PolicyValidationPassed"] is True and valid["ValidationErrors"] == [], valid
invalid = client.validate_resource_policy(SecretId=name, ResourcePolicy=public)
assert invalid["PolicyValidationPassed"] is False, invalid
assert [e["CheckName"] for e in invalid["ValidationErrors"]] == ["PUBLIC_ACCESS"], invalid

deleted = client.delete_resource_policy(SecretId=name)
assert deleted["ARN"] == arn and deleted["Name"] == name, deleted
assert "ResourcePolicy" not in client.get_resource_policy(SecretId=name), "policy still there after delete"

try:
    client.get_resource_policy(SecretId=name + "-missing")
    raise AssertionError("expected ResourceNotFoundException")
except client.exceptions.ResourceNotFoundException:
    pass
client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
print("python respolicy smoke: ok")
