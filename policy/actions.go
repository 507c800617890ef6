package policy

import "strings"

// secretsManagerActions are the actions of the Secrets Manager API, one per
// operation of its model (a test checks them against the vendored botocore
// model). Validate reports a "secretsmanager:" Action entry that matches
// none of them: such an entry can never apply.
var secretsManagerActions = []string{
	"secretsmanager:BatchGetSecretValue",
	"secretsmanager:CancelRotateSecret",
	"secretsmanager:CreateSecret",
	"secretsmanager:DeleteResourcePolicy",
	"secretsmanager:DeleteSecret",
	"secretsmanager:DescribeSecret",
	"secretsmanager:GetRandomPassword",
	"secretsmanager:GetResourcePolicy",
	"secretsmanager:GetSecretValue",
	"secretsmanager:ListSecretVersionIds",
	"secretsmanager:ListSecrets",
	"secretsmanager:PutResourcePolicy",
	"secretsmanager:PutSecretValue",
	"secretsmanager:RemoveRegionsFromReplication",
	"secretsmanager:ReplicateSecretToRegions",
	"secretsmanager:RestoreSecret",
	"secretsmanager:RotateSecret",
	"secretsmanager:StopReplicationToReplica",
	"secretsmanager:TagResource",
	"secretsmanager:UntagResource",
	"secretsmanager:UpdateSecret",
	"secretsmanager:UpdateSecretVersionStage",
	"secretsmanager:ValidateResourcePolicy",
}

// SecretsManagerActions returns the Secrets Manager actions, as
// "secretsmanager:<Operation>".
func SecretsManagerActions() []string {
	return append([]string(nil), secretsManagerActions...)
}

// unknownActions returns the Action and NotAction entries of p that name the
// secretsmanager service but match none of its actions.
func (p *Policy) unknownActions() []string {
	var out []string
	for i := range p.statements {
		for _, a := range p.statements[i].actions {
			if !strings.HasPrefix(strings.ToLower(a.src), "secretsmanager:") {
				continue
			}
			hit := false
			for _, known := range secretsManagerActions {
				if a.match(known, true, nil) {
					hit = true
					break
				}
			}
			if !hit {
				out = append(out, a.src)
			}
		}
	}
	return out
}
