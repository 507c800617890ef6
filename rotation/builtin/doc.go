// Package builtin holds rotation functions that run inside the Rotor
// process. Function implements AWS's rotation-template skeleton once — the
// DescribeSecret checks, createSecret, finishSecret — through the same
// secrets-service operations a Lambda calls over the wire (DescribeSecret,
// GetSecretValue, GetRandomPassword, PutSecretValue,
// UpdateSecretVersionStage), as the scoped principal the engine puts in the
// context. A Strategy supplies what differs per target: the new value, and
// the setSecret and testSecret work.
//
// The database strategies are written once, over small driver interfaces:
//
//   - SingleUser: the user changes its own password (Session);
//   - AlternatingUsers: an administrator keeps two users "name" and
//     "name_clone" with the same privileges and resets the idle one (Admin);
//   - MultiCredential: the user holds the current and the new password at
//     once (MultiPassword).
//
// AccessKeys applies the multiple-credentials strategy to Rotor's own
// access keys, over a KeyService (package rotation/rotorkeys); as the
// server makes a key itself, it is a Minter: createSecret creates the key.
//
// An Engine binds a Driver (packages rotation/postgres, rotation/mysql,
// rotation/redis) to the "engine" values of the secrets it serves. The
// secrets use the JSON of AWS's rotation templates (see the Key constants);
// docs/ROTATION.md describes all of it for operators and driver authors.
package builtin
