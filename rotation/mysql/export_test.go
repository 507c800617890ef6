package mysql

// Exported for the external tests: the SQL the driver writes, so that
// statements for servers not at hand (MySQL 5.7, 8, 9) are checked as text.
type (
	Dialect        = dialect
	TLSRequirement = tlsRequirement
)

var (
	NewDialect      = newDialect
	QuoteIdent      = quoteIdent
	Account         = account
	RewriteGrant    = rewriteGrant
	SetDefaultRoles = setDefaultRoles
)

func (d dialect) Literal(s string) string                  { return d.literal(s) }
func (d dialect) ChangeOwnPassword(pw string) string       { return d.changeOwnPassword(pw) }
func (d dialect) SetPassword(user, host, pw string) string { return d.setPassword(user, host, pw) }
func (d dialect) CreateUser(user, host, plugin, pw string) string {
	return d.createUser(user, host, plugin, pw)
}
func (d dialect) Require(user, host string, r tlsRequirement) string { return d.require(user, host, r) }
func (d dialect) DefaultMaxUsernameLength() int                      { return d.defaultMaxUsernameLength() }
