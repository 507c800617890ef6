package rotation

import "github.com/rotorhq/rotor/rotation/scrub"

// Redacted replaces every secret value a Scrubber finds.
const Redacted = scrub.Redacted

// Scrubber removes known secret values from text; see package scrub.
type Scrubber = scrub.Scrubber

// NewScrubber returns a Scrubber for values (each a SecretString, or a
// SecretBinary as a string); see scrub.New.
func NewScrubber(values ...string) *Scrubber { return scrub.New(values...) }

// Identifying lists the top-level keys (lower case) of a secret's JSON
// whose values a Scrubber keeps: they name the target, they do not unlock
// it. The whole secret value is still removed.
var Identifying = scrub.Identifying
