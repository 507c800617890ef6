package main

import (
	"flag"
	"io"
	"sync"
)

// The names the binary reads from its environment and command line, kept
// where a test can list them all: TestConfigDocComplete checks that
// docs/config.md mentions every one.

// envNames holds every environment variable with a fixed name that rotor
// reads (variables the operator names, such as keys.env, pass_env and
// hmac_secret_env, are not fixed). Fill it only through envName.
var envNames = map[string]bool{}

// envName registers name as an environment variable rotor reads and
// returns it. Every fixed name rotor passes to a getenv function must come
// from a package-level variable set by envName, or from the settings table
// (registered below); TestEnvReadsAreRegistered refuses a string literal.
func envName(name string) string {
	envNames[name] = true
	return name
}

func init() {
	for _, s := range settings {
		envName(s.env)
	}
}

// The environment variables read outside the settings table.
var (
	envConfig             = envName("ROTOR_CONFIG")
	envAllowHiddenRegions = envName("ROTOR_ALLOW_HIDDEN_REGIONS")
	envTestFailpoint      = envName("ROTOR_TEST_FAILPOINT")
	envGOGC               = envName("GOGC")
	envGOMEMLIMIT         = envName("GOMEMLIMIT")
	// Where client commands find the server, in this order.
	envEndpoints = []string{envName("ROTOR_ENDPOINT"), envName("AWS_ENDPOINT_URL_SECRETS_MANAGER"), envName("AWS_ENDPOINT_URL")}
	// The credentials file access-key create --write-profile writes to
	// (the AWS SDK reads it too, for the signing credentials).
	envSharedCredentialsFile = envName("AWS_SHARED_CREDENTIALS_FILE")
	// The AWS config file (read by the SDK), named when a profile is missing.
	envAWSConfigFile = envName("AWS_CONFIG_FILE")
	// The time zone client commands show dates in.
	envTZ = envName("TZ")
)

// flagSets records, by name, the last flag set newFlagSet made, so a test
// can list the flags of every command after running each with -h.
var flagSets = struct {
	sync.Mutex
	byName map[string]*flag.FlagSet
	output io.Writer // where -h prints; nil = standard error
}{byName: map[string]*flag.FlagSet{}}

// newFlagSet is flag.NewFlagSet(name, flag.ContinueOnError), recorded in
// flagSets. Every command builds its flag set with it.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	flagSets.Lock()
	defer flagSets.Unlock()
	flagSets.byName[name] = fs
	if flagSets.output != nil {
		fs.SetOutput(flagSets.output)
	}
	return fs
}
