// Package lambda runs rotation functions that live outside the Rotor
// process: Exec, a local command, and HTTP, a POST shaped like the AWS Lambda
// Invoke API. A rotation function is what AWS calls a Lambda: the rotation
// engine invokes it once per step (createSecret, setSecret, testSecret,
// finishSecret; aws-api.md §6.3) with the event AWS sends
//
//	{"Step": ..., "SecretId": <full ARN>, "ClientRequestToken": <token>, "RotationToken": <opaque>}
//
// and the function calls back into Rotor's Secrets Manager API with
// temporary credentials scoped to the secret being rotated.
//
// Both kinds are declared by the operator in Rotor's configuration file and
// never through the API: registering a command or a URL over the network
// would be remote code execution, or an exfiltration channel for the
// credentials.
//
// # Exec
//
// An Exec function is a process started for one step, in its own process
// group, with the event JSON on stdin and a clean environment: nothing of the
// server's environment is inherited except the variables the operator names
// in PassEnv. The environment carries Rotor's endpoint
// (SECRETS_MANAGER_ENDPOINT, AWS_ENDPOINT_URL_SECRETS_MANAGER,
// AWS_ENDPOINT_URL), the secret's region (AWS_REGION, AWS_DEFAULT_REGION) and
// the temporary credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN), with AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE set
// to /dev/null so an SDK in the function picks up nothing else. Exit status 0
// is success. When the step times out or its context is cancelled the whole
// process group is killed, and so is anything the function left running in
// its group when it exits: like a Lambda, nothing outlives the invocation.
// Like a Lambda too, it runs in a sandbox by default (IsolationLandlock): the
// server's binary re-executes itself as a launcher (an init function of this
// package takes over when started with a hidden argument), applies
// Landlock, no_new_privs and seccomp to itself, then executes the command,
// which can reach neither the server's files (Exec.Protect) nor its process.
// PythonHandler wraps an AWS-style Python handler (such as AWS's own rotation
// templates) so it runs unchanged.
//
// # HTTP
//
// An HTTP function receives the event JSON as the body of a POST, as a
// function behind the Lambda Invoke API would, with the headers
// X-Amz-Invocation-Type: RequestResponse, X-Rotor-Region and X-Rotor-Endpoint.
// So that a function hosted behind HTTP can call back, the temporary
// credentials travel as the headers X-Rotor-Access-Key-Id,
// X-Rotor-Secret-Access-Key and X-Rotor-Session-Token, but only when the URL
// is https or names a loopback host (see CredentialsAllowed); a function
// reached over plain http on the network gets no credentials. When the
// function has a signing secret, every request is signed with HMAC-SHA256
// (X-Rotor-Timestamp, X-Rotor-Signature) and receivers check it with
// VerifySignature. Redirects are never followed, since a redirect chosen by
// someone else could carry the credential headers to them.
//
// # Errors and output
//
// Invoke returns a non-nil error when the step failed. The error is a
// *rotor.Error whose Message says what failed: the exit status and the last
// lines of stderr, the HTTP status and an excerpt of the body, the
// errorType and errorMessage the function reported, or the timeout. Because
// that text comes from the function, it may contain secret material: the
// engine scrubs errors and Result.Output (rotation.Sanitize) before they are
// stored, logged or shown.
package lambda
