package password_test

import (
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/password"
)

// The classes as AWS documents them, written out independently of the
// package under test.
const (
	upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lower = "abcdefghijklmnopqrstuvwxyz"
	digit = "0123456789"
	punct = `!"#$%&'()*+,-./:;<=>?@[\]^_` + "`" + `{|}~`
)

// draws is how many passwords the property tests generate. Where a test
// needs a character or class to show up at least once, the comment beside
// it bounds the chance that it never does; all bounds are below 1e-30, so
// a failure means a bug, not bad luck.
const draws = 2000

func MustGenerate(tb testing.TB, spec rotor.PasswordSpec) string {
	tb.Helper()
	pw, err := password.Generate(spec)
	if err != nil {
		tb.Fatalf("Generate(%+v): %v", spec, err)
	}
	return pw
}

func TestPunctuationSet(t *testing.T) {
	if len(punct) != 32 {
		t.Fatalf("test punctuation set has %d characters, want 32", len(punct))
	}
}

func TestGenerateDefaults(t *testing.T) {
	spec := rotor.DefaultPasswordSpec()
	for range draws {
		pw := MustGenerate(t, spec)
		if len(pw) != 32 {
			t.Fatalf("len = %d, want 32", len(pw))
		}
		for _, class := range []string{upper, lower, digit, punct} {
			if !strings.ContainsAny(pw, class) {
				t.Fatalf("password %q lacks a character of %q", pw, class)
			}
		}
		if strings.Trim(pw, upper+lower+digit+punct) != "" {
			t.Fatalf("password %q has a character outside the four classes", pw)
		}
	}
}

func TestGenerateExclude(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(*rotor.PasswordSpec)
		allowed []string // classes that may, and (with RequireEachIncludedType) must, appear
	}{
		{"ExcludeUppercase", func(s *rotor.PasswordSpec) { s.ExcludeUppercase = true }, []string{lower, digit, punct}},
		{"ExcludeLowercase", func(s *rotor.PasswordSpec) { s.ExcludeLowercase = true }, []string{upper, digit, punct}},
		{"ExcludeNumbers", func(s *rotor.PasswordSpec) { s.ExcludeNumbers = true }, []string{upper, lower, punct}},
		{"ExcludePunctuation", func(s *rotor.PasswordSpec) { s.ExcludePunctuation = true }, []string{upper, lower, digit}},
		{"OnlyDigits", func(s *rotor.PasswordSpec) {
			s.ExcludeUppercase, s.ExcludeLowercase, s.ExcludePunctuation = true, true, true
		}, []string{digit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := rotor.DefaultPasswordSpec()
			tt.modify(&spec)
			allowed := strings.Join(tt.allowed, "")
			for range draws {
				pw := MustGenerate(t, spec)
				if len(pw) != 32 {
					t.Fatalf("len = %d, want 32", len(pw))
				}
				if strings.Trim(pw, allowed) != "" {
					t.Fatalf("password %q has an excluded character", pw)
				}
				for _, class := range tt.allowed {
					if !strings.ContainsAny(pw, class) {
						t.Fatalf("password %q lacks a character of %q", pw, class)
					}
				}
			}
		})
	}
}

func TestGenerateExcludeCharacters(t *testing.T) {
	for _, exclude := range []string{`:/@"'\`, `/@"'\;`, "aeiouAEIOU0", "ü€ab"} {
		t.Run(exclude, func(t *testing.T) {
			spec := rotor.DefaultPasswordSpec()
			spec.ExcludeCharacters = exclude
			seen := map[rune]bool{}
			for range draws {
				pw := MustGenerate(t, spec)
				if strings.ContainsAny(pw, exclude) {
					t.Fatalf("password %q contains a character of %q", pw, exclude)
				}
				for _, c := range pw {
					seen[c] = true
				}
			}
			// Every character that is not excluded still appears: each is at
			// least 1/94 likely in each of 28 free positions, so one is missing
			// from all 2000 passwords with probability below 94*(93/94)^56000.
			for _, c := range upper + lower + digit + punct {
				if !strings.ContainsRune(exclude, c) && !seen[c] {
					t.Errorf("character %q never appeared", c)
				}
			}
		})
	}
}

func TestGenerateIncludeSpace(t *testing.T) {
	spec := rotor.DefaultPasswordSpec()
	spec.IncludeSpace = true
	spaces := 0
	for range draws {
		pw := MustGenerate(t, spec)
		if len(pw) != 32 {
			t.Fatalf("len = %d, want 32", len(pw))
		}
		for _, class := range []string{upper, lower, digit, punct} {
			if !strings.ContainsAny(pw, class) {
				t.Fatalf("password %q lacks a character of %q", pw, class)
			}
		}
		spaces += strings.Count(pw, " ")
	}
	// A space is 1/95 likely in each of 28 free positions: no space in 2000
	// passwords has probability (94/95)^56000 < 1e-250.
	if spaces == 0 {
		t.Errorf("no space in %d passwords with IncludeSpace", draws)
	}

	t.Run("NotRequired", func(t *testing.T) {
		// The space is admitted, never required: a four-character password
		// needs only the four classes, so it is not too short.
		spec := rotor.DefaultPasswordSpec()
		spec.IncludeSpace = true
		spec.Length = 4
		MustGenerate(t, spec)
	})
	t.Run("Excluded", func(t *testing.T) {
		spec := rotor.DefaultPasswordSpec()
		spec.IncludeSpace = true
		spec.ExcludeCharacters = " "
		for range draws {
			if pw := MustGenerate(t, spec); strings.Contains(pw, " ") {
				t.Fatalf("password %q has a space excluded by ExcludeCharacters", pw)
			}
		}
	})
	t.Run("Off", func(t *testing.T) {
		spec := rotor.DefaultPasswordSpec()
		spec.RequireEachIncludedType = false
		spec.Length = 4096
		for range 10 {
			if pw := MustGenerate(t, spec); strings.Contains(pw, " ") {
				t.Fatalf("password has a space without IncludeSpace")
			}
		}
	})
	t.Run("OnlySpace", func(t *testing.T) {
		spec := rotor.PasswordSpec{Length: 3, IncludeSpace: true, RequireEachIncludedType: true,
			ExcludeUppercase: true, ExcludeLowercase: true, ExcludeNumbers: true, ExcludePunctuation: true}
		if pw := MustGenerate(t, spec); pw != "   " {
			t.Errorf("password = %q, want three spaces", pw)
		}
	})
}

func TestGenerateNotRequired(t *testing.T) {
	t.Run("LengthOneSingleClass", func(t *testing.T) {
		spec := rotor.PasswordSpec{Length: 1, ExcludeUppercase: true, ExcludeLowercase: true, ExcludePunctuation: true}
		for range 200 {
			pw := MustGenerate(t, spec)
			if len(pw) != 1 || !strings.Contains(digit, pw) {
				t.Fatalf("password = %q, want one digit", pw)
			}
		}
	})
	t.Run("LengthOneAllClasses", func(t *testing.T) {
		spec := rotor.DefaultPasswordSpec()
		spec.RequireEachIncludedType = false
		spec.Length = 1
		if pw := MustGenerate(t, spec); len(pw) != 1 {
			t.Fatalf("password = %q, want one character", pw)
		}
	})
	t.Run("ClassEmptiedByExcludeCharacters", func(t *testing.T) {
		spec := rotor.DefaultPasswordSpec()
		spec.RequireEachIncludedType = false
		spec.ExcludeCharacters = digit
		for range 200 {
			if pw := MustGenerate(t, spec); strings.ContainsAny(pw, digit) {
				t.Fatalf("password %q has a digit", pw)
			}
		}
	})
}

func TestGenerateLength(t *testing.T) {
	for _, n := range []int64{1, 4, 5, 31, 33, 1000, 4096} {
		spec := rotor.DefaultPasswordSpec()
		spec.Length = n
		spec.RequireEachIncludedType = n >= 4
		if pw := MustGenerate(t, spec); int64(len(pw)) != n {
			t.Errorf("Length %d: got %d characters", n, len(pw))
		}
	}
}

// TestGenerateRequiredShuffled checks that the required characters are not
// left where they were inserted: in four-character passwords with all four
// classes required, every class shows up at position 0. A class misses it
// in all 2000 draws with probability (3/4)^2000 < 1e-249.
func TestGenerateRequiredShuffled(t *testing.T) {
	spec := rotor.DefaultPasswordSpec()
	spec.Length = 4
	first := map[string]bool{}
	for range draws {
		pw := MustGenerate(t, spec)
		for _, class := range []string{upper, lower, digit, punct} {
			if len(pw) != 4 || !strings.ContainsAny(pw, class) {
				t.Fatalf("password %q is not one character of each class", pw)
			}
			if strings.ContainsRune(class, rune(pw[0])) {
				first[class] = true
			}
		}
	}
	if len(first) != 4 {
		t.Errorf("only %d classes ever appeared first", len(first))
	}
}

// TestGenerateDistribution draws 25 passwords of 4096 characters without
// required types, so each of the 102400 characters is uniform over the 94
// in the pool (mean 1089.4 each). It checks that every character appears
// and that no count is below half or above twice the mean. By Chernoff
// bounds a fair generator breaks the band with probability below
// 2*94*exp(-1089.4/8) < 1e-57; a generator that favours or drops part of
// the pool breaks it every time.
func TestGenerateDistribution(t *testing.T) {
	spec := rotor.PasswordSpec{Length: 4096}
	counts := map[rune]int{}
	const n = 25
	for range n {
		for _, c := range MustGenerate(t, spec) {
			counts[c]++
		}
	}
	pool := upper + lower + digit + punct
	if len(counts) != len(pool) {
		t.Errorf("%d distinct characters, want %d", len(counts), len(pool))
	}
	mean := float64(n*4096) / float64(len(pool))
	for _, c := range pool {
		if got := float64(counts[c]); got < mean/2 || got > mean*2 {
			t.Errorf("character %q appeared %v times, mean %.1f", c, got, mean)
		}
	}
}

func TestGenerateErr(t *testing.T) {
	all := rotor.PasswordSpec{Length: 32, RequireEachIncludedType: true,
		ExcludeUppercase: true, ExcludeLowercase: true, ExcludeNumbers: true, ExcludePunctuation: true}
	tests := []struct {
		name    string
		spec    rotor.PasswordSpec
		code    string
		message string // exact, or a prefix when prefix is set
		prefix  bool
	}{
		{"TooLong", rotor.PasswordSpec{Length: 5000, RequireEachIncludedType: true}, rotor.EVALIDATION,
			"1 validation error detected: Value '5000' at 'passwordLength' failed to satisfy constraint: Member must have value less than or equal to 4096", false},
		{"JustTooLong", rotor.PasswordSpec{Length: 4097}, rotor.EVALIDATION,
			"1 validation error detected: Value '4097' at 'passwordLength' failed to satisfy constraint: Member must have value less than or equal to 4096", false},
		{"Zero", rotor.PasswordSpec{Length: 0}, rotor.EVALIDATION,
			"1 validation error detected: Value '0' at 'passwordLength' failed to satisfy constraint: Member must have value greater than or equal to 1", false},
		{"Negative", rotor.PasswordSpec{Length: -3}, rotor.EVALIDATION,
			"1 validation error detected: Value '-3' at 'passwordLength' failed to satisfy constraint: Member must have value greater than or equal to 1", false},
		{"ExcludeCharactersTooLong", rotor.PasswordSpec{Length: 0, ExcludeCharacters: strings.Repeat("a", 4097)}, rotor.EVALIDATION,
			"2 validation errors detected: Value '0' at 'passwordLength' failed to satisfy constraint: Member must have value greater than or equal to 1; Value '", true},
		{"AllClassesExcluded", all, rotor.EINVALID, "All characters have been excluded", true},
		{"AllClassesExcludedNotRequired", func() rotor.PasswordSpec { s := all; s.RequireEachIncludedType = false; return s }(),
			rotor.EINVALID, "All characters have been excluded", true},
		{"PoolEmptiedByExcludeCharacters", rotor.PasswordSpec{Length: 8, ExcludeCharacters: upper + lower + digit + punct},
			rotor.EINVALID, "All characters have been excluded", true},
		{"ShorterThanRequired", rotor.PasswordSpec{Length: 3, RequireEachIncludedType: true}, rotor.EINVALID,
			"Password length is too short based on the required types.", false},
		{"ShorterThanRequiredTwo", rotor.PasswordSpec{Length: 1, RequireEachIncludedType: true, ExcludeUppercase: true, ExcludeLowercase: true},
			rotor.EINVALID, "Password length is too short based on the required types.", false},
		{"RequiredClassEmptied", rotor.PasswordSpec{Length: 32, RequireEachIncludedType: true, ExcludeCharacters: digit},
			rotor.EINVALID, "Password length is too short based on the required types.", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pw, err := password.Generate(tt.spec)
			if pw != "" {
				t.Errorf("password = %q with an error", pw)
			}
			if got := rotor.ErrorCode(err); got != tt.code {
				t.Fatalf("code = %q (err %v), want %q", got, err, tt.code)
			}
			msg := rotor.ErrorMessage(err)
			if tt.prefix && !strings.HasPrefix(msg, tt.message) || !tt.prefix && msg != tt.message {
				t.Errorf("message = %q, want %q", msg, tt.message)
			}
		})
	}

	t.Run("RequiredClassEmptiedNamesClass", func(t *testing.T) {
		for _, tc := range []struct{ exclude, name string }{
			{digit, "numbers"}, {upper, "uppercase"}, {lower, "lowercase"}, {punct, "punctuation"},
		} {
			spec := rotor.DefaultPasswordSpec()
			spec.ExcludeCharacters = tc.exclude
			_, err := password.Generate(spec)
			if msg := rotor.ErrorMessage(err); !strings.Contains(msg, tc.name) {
				t.Errorf("excluding %q: message %q does not name %s", tc.exclude, msg, tc.name)
			}
		}
	})
	t.Run("ExactLengthOK", func(t *testing.T) {
		spec := rotor.PasswordSpec{Length: 2, RequireEachIncludedType: true, ExcludeUppercase: true, ExcludeLowercase: true}
		pw := MustGenerate(t, spec)
		if !strings.ContainsAny(pw, digit) || !strings.ContainsAny(pw, punct) {
			t.Errorf("password %q lacks a digit or punctuation", pw)
		}
	})
}
