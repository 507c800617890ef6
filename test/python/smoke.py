"""Smoke test: drives a running Rotor server with boto3 (the machine's Python).

Needs ROTOR_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION in the
environment; raises on the first mismatch.
"""
import os
import time

import boto3

client = boto3.client("secretsmanager", endpoint_url=os.environ["ROTOR_ENDPOINT"],
                      region_name=os.environ["AWS_REGION"])
name = f"py-smoke-{os.getpid()}-{int(time.time() * 1000)}"

created = client.create_secret(Name=name, SecretString='{"username":"app","password":"p"}',
                               Tags=[{"Key": "team", "Value": "core"}])
assert created["Name"] == name, created
got = client.get_secret_value(SecretId=name)
assert got["SecretString"] == '{"username":"app","password":"p"}', got
assert got["VersionStages"] == ["AWSCURRENT"], got

put = client.put_secret_value(SecretId=created["ARN"], SecretBinary=b"\x00\xffbin",
                              VersionStages=["STAGED"])
assert put["VersionStages"] == ["STAGED"], put
staged = client.get_secret_value(SecretId=name, VersionStage="STAGED")
assert staged["SecretBinary"] == b"\x00\xffbin", staged

desc = client.describe_secret(SecretId=name)
assert desc["Tags"] == [{"Key": "team", "Value": "core"}], desc
assert desc["VersionIdsToStages"][created["VersionId"]] == ["AWSCURRENT"], desc

versions = client.list_secret_version_ids(SecretId=name)
assert {v["VersionId"] for v in versions["Versions"]} == {created["VersionId"], put["VersionId"]}, versions

pages = client.get_paginator("list_secrets").paginate(Filters=[{"Key": "tag-key", "Values": ["team"]}])
names = [s["Name"] for page in pages for s in page["SecretList"]]
assert name in names, names

try:
    client.get_secret_value(SecretId=name, VersionStage="NOPE")
    raise AssertionError("expected ResourceNotFoundException")
except client.exceptions.ResourceNotFoundException as e:
    assert "staging label: NOPE" in str(e), e

deleted = client.delete_secret(SecretId=name, RecoveryWindowInDays=7)
assert "DeletionDate" in deleted, deleted
try:
    client.get_secret_value(SecretId=name)
    raise AssertionError("expected InvalidRequestException")
except client.exceptions.InvalidRequestException:
    pass
client.restore_secret(SecretId=name)
client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
print("python smoke: ok")
