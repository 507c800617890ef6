// Package rotation drives AWS's four-step rotation protocol (createSecret,
// setSecret, testSecret, finishSecret) for secrets held in Rotor.
//
// The pieces:
//
//   - Registry resolves a rotation function's Lambda ARN, per region, to a
//     lambda.Function: built-in Go code, a local command or an HTTP endpoint.
//   - Engine executes durable runs: it claims due runs, invokes each step with
//     short-lived credentials scoped to the secret and to reading the master
//     secret RotateSecret bound (rotor.RotationScope; never a master a value
//     names), records every step before and after it runs, retries failed
//     attempts with exponential backoff and jitter, and gives up after a
//     configured number of attempts — at once when the secret's value names
//     another master than the bound one. A server killed mid-run resumes the
//     run on start.
//   - Scheduler starts rotations whose NextRotationDate has come.
//   - Scrubber removes secret values from anything the engine stores or logs.
//
// All rules about versions and labels stay in package manager, which the
// engine reaches through the Controller interface, so a rotation obeys the
// same rules as an external function calling the API.
package rotation
