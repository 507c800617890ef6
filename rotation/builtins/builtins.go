// Package builtins registers Rotor's built-in rotation functions. It is
// apart from package builtin because it imports the drivers, which import
// builtin.
package builtins

import (
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation"
	"github.com/rotorhq/rotor/rotation/builtin"
	"github.com/rotorhq/rotor/rotation/mysql"
	"github.com/rotorhq/rotor/rotation/postgres"
	"github.com/rotorhq/rotor/rotation/redis"
)

// Kind is the registry kind of the built-in functions.
const Kind = "builtin"

// Function names. A secret is rotated by a built-in function by giving its
// Lambda ARN, arn:aws:lambda:<region>:<account>:function:<name>, to
// RotateSecret.
const (
	GeneratePassword         = "rotor-generate-password"
	PostgresSingleUser       = "rotor-postgres-single-user"
	PostgresAlternatingUsers = "rotor-postgres-alternating-users"
	MySQLSingleUser          = "rotor-mysql-single-user"
	MySQLAlternatingUsers    = "rotor-mysql-alternating-users"
	MariaDBSingleUser        = "rotor-mariadb-single-user"
	MariaDBAlternatingUsers  = "rotor-mariadb-alternating-users"
	RedisSingleUser          = "rotor-redis-single-user"
	RedisMultiCredential     = "rotor-redis-multi-credential"
	// AccessKey rotates a secret holding one of Rotor's own access keys
	// (see builtin.AccessKeys).
	AccessKey = "rotor-access-key"
)

// Functions returns every built-in function by name, each working through
// secrets (the in-process secrets service, which the engine calls with the
// run's scoped principal in the context). keys manages Rotor's own access
// keys for rotor-access-key; when it is nil that function is left out.
func Functions(secrets rotor.SecretService, keys builtin.KeyService) map[string]*builtin.Function {
	fn := func(s builtin.Strategy, spec rotor.PasswordSpec) *builtin.Function {
		return &builtin.Function{Secrets: secrets, Strategy: s, Password: spec}
	}
	pg, my, maria, rd := postgres.Engine(), mysql.MySQL(), mysql.MariaDB(), redis.Engine()
	fns := map[string]*builtin.Function{
		GeneratePassword:         fn(builtin.GeneratePassword{}, rotor.DefaultPasswordSpec()),
		PostgresSingleUser:       fn(builtin.SingleUser{Engine: pg}, pg.Password),
		PostgresAlternatingUsers: fn(builtin.AlternatingUsers{Engine: pg}, pg.Password),
		MySQLSingleUser:          fn(builtin.SingleUser{Engine: my}, my.Password),
		MySQLAlternatingUsers:    fn(builtin.AlternatingUsers{Engine: my}, my.Password),
		MariaDBSingleUser:        fn(builtin.SingleUser{Engine: maria}, maria.Password),
		MariaDBAlternatingUsers:  fn(builtin.AlternatingUsers{Engine: maria}, maria.Password),
		RedisSingleUser:          fn(builtin.SingleUser{Engine: rd}, rd.Password),
		RedisMultiCredential:     fn(builtin.MultiCredential{Engine: rd}, rd.Password),
	}
	if keys != nil {
		fns[AccessKey] = fn(builtin.AccessKeys{Keys: keys}, rotor.PasswordSpec{})
	}
	return fns
}

// Register adds every built-in function (see Functions) to reg for every
// region. It panics if one of the names is already registered (see
// rotation.Registry.Register).
func Register(reg *rotation.Registry, secrets rotor.SecretService, keys builtin.KeyService) {
	for name, f := range Functions(secrets, keys) {
		reg.Register(name, Kind, nil, f)
	}
}
