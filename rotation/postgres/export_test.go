package postgres

// Exported for the external tests.
var (
	Ident                 = ident
	QuoteLiteral          = quoteLiteral
	Verifier              = verifier
	ScramVerifierWithSalt = scramVerifierWithSalt
)
