// Smoke test: drives a running Rotor server with the AWS SDK for JavaScript v3.
// Needs ROTOR_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION in the
// environment; exits non-zero with a message on the first mismatch.
import assert from "node:assert/strict";
import {
  SecretsManagerClient, CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand,
  DescribeSecretCommand, ListSecretsCommand, UpdateSecretVersionStageCommand, DeleteSecretCommand,
  GetRandomPasswordCommand, ResourceNotFoundException, ResourceExistsException,
} from "@aws-sdk/client-secrets-manager";

const client = new SecretsManagerClient({ endpoint: process.env.ROTOR_ENDPOINT, region: process.env.AWS_REGION });
const name = `js-smoke-${process.pid}-${Date.now()}`;

const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: "first" }));
assert.match(created.ARN, new RegExp(`:secret:${name}-[A-Za-z0-9]{6}$`));
assert.ok(created.VersionId, "CreateSecret returns a VersionId");

const got = await client.send(new GetSecretValueCommand({ SecretId: name }));
assert.equal(got.SecretString, "first");
assert.deepEqual(got.VersionStages, ["AWSCURRENT"]);
assert.ok(got.CreatedDate instanceof Date, "CreatedDate decodes as a Date");

const put = await client.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretBinary: new Uint8Array([0, 1, 2, 255]) }));
const bin = await client.send(new GetSecretValueCommand({ SecretId: name }));
assert.deepEqual(Array.from(bin.SecretBinary), [0, 1, 2, 255]);
assert.equal(bin.VersionId, put.VersionId);

const desc = await client.send(new DescribeSecretCommand({ SecretId: name }));
assert.deepEqual(desc.VersionIdsToStages[created.VersionId], ["AWSPREVIOUS"]);
assert.deepEqual(desc.VersionIdsToStages[put.VersionId], ["AWSCURRENT"]);

await client.send(new UpdateSecretVersionStageCommand({
  SecretId: name, VersionStage: "AWSCURRENT", MoveToVersionId: created.VersionId, RemoveFromVersionId: put.VersionId,
}));
assert.equal((await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, "first");

const listed = await client.send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: [name] }] }));
assert.equal(listed.SecretList.length, 1);
assert.ok(listed.SecretList[0].SecretVersionsToStages, "ListSecrets uses SecretVersionsToStages");

await assert.rejects(client.send(new CreateSecretCommand({ Name: name, SecretString: "x" })), ResourceExistsException);
await assert.rejects(client.send(new GetSecretValueCommand({ SecretId: name + "-missing" })), ResourceNotFoundException);

const pw = await client.send(new GetRandomPasswordCommand({ PasswordLength: 20, ExcludePunctuation: true }));
assert.match(pw.RandomPassword, /^[A-Za-z0-9]{20}$/);

const del = await client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
assert.ok(del.DeletionDate instanceof Date);
await assert.rejects(client.send(new DescribeSecretCommand({ SecretId: name })), ResourceNotFoundException);
console.log("js smoke: ok");
