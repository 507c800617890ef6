package manager

// Secrets Manager action names, as the Authorizer receives them
// ("secretsmanager:<Operation>"). They are constants so that no request
// builds its action name.
const (
	actionBatchGetSecretValue      = "secretsmanager:BatchGetSecretValue"
	actionCancelRotateSecret       = "secretsmanager:CancelRotateSecret"
	actionCreateSecret             = "secretsmanager:CreateSecret"
	actionDeleteSecret             = "secretsmanager:DeleteSecret"
	actionDescribeSecret           = "secretsmanager:DescribeSecret"
	actionGetRandomPassword        = "secretsmanager:GetRandomPassword"
	actionGetSecretValue           = "secretsmanager:GetSecretValue"
	actionListSecretVersionIds     = "secretsmanager:ListSecretVersionIds"
	actionListSecrets              = "secretsmanager:ListSecrets"
	actionPutSecretValue           = "secretsmanager:PutSecretValue"
	actionRestoreSecret            = "secretsmanager:RestoreSecret"
	actionRotateSecret             = "secretsmanager:RotateSecret"
	actionTagResource              = "secretsmanager:TagResource"
	actionUntagResource            = "secretsmanager:UntagResource"
	actionUpdateSecret             = "secretsmanager:UpdateSecret"
	actionUpdateSecretVersionStage = "secretsmanager:UpdateSecretVersionStage"
)

// actionCreateAccessKey is Rotor's own action RotateSecret asks about before
// it binds a rotation to an identity (rotor.RotationConfig.Identity).
const actionCreateAccessKey = "rotor:CreateAccessKey"
