package manager

import (
	"fmt"
	"strings"

	"github.com/rotorhq/rotor"
)

// filterKeys is the model's enum, in the model's order (for the message).
var filterKeys = []string{
	rotor.FilterDescription, rotor.FilterName, rotor.FilterTagKey, rotor.FilterTagValue,
	rotor.FilterPrimaryRegion, rotor.FilterOwningService, rotor.FilterAll,
}

// matcher is a compiled list of ListSecrets / BatchGetSecretValue filters.
//
// Semantics (aws-api.md §4):
//   - Filters combine with AND, the values of one filter with OR.
//   - name, tag-key, tag-value, primary-region and owning-service match a
//     case-sensitive prefix of the attribute.
//   - description and all match words: the value is split into terms
//     (splitTerms) and every term must be a case-insensitive prefix of some
//     term of one attribute (the description; for all, any one of the name,
//     the description, a tag key or a tag value).
//   - A value starting with '!' is negated. For attributes that can have
//     several values (tags, and the several attributes of all) a negated
//     value matches when NO attribute value of that kind matches the rest of
//     the value; so "!env" on tag-key selects secrets with no tag key
//     starting with "env", untagged secrets included, and a secret without a
//     description or owning service matches any negated description or
//     owning-service value.
//   - primary-region matches the secret's primary region, which for a
//     secret that is not replicated is its own region.
type matcher []compiledFilter

type compiledFilter struct {
	key    string
	values []compiledValue
}

type compiledValue struct {
	negate bool
	raw    string   // without the '!'
	terms  []string // lower-cased terms of raw, for word matching
}

// compileFilters validates filters and prepares them for matching. It returns
// EVALIDATION for an unknown key or a value breaking the model's limits and
// EINVALID for a filter without a key or without values.
func compileFilters(fs []rotor.Filter) (matcher, error) {
	if len(fs) > maxFilters {
		return nil, errMaxLen("filters", maxFilters)
	}
	m := make(matcher, 0, len(fs))
	for i, f := range fs {
		if f.Key == "" {
			return nil, rotor.Errorf(rotor.EINVALID, "Invalid filter key")
		}
		known := false
		for _, k := range filterKeys {
			known = known || k == f.Key
		}
		if !known {
			return nil, errValidation(f.Key, fmt.Sprintf("filters.%d.member.key", i+1),
				"Member must satisfy enum value set: ["+strings.Join(filterKeys, ", ")+"]")
		}
		if len(f.Values) == 0 {
			return nil, rotor.Errorf(rotor.EINVALID, "Invalid filter values for key: %s", f.Key)
		}
		if len(f.Values) > maxFilterValues {
			return nil, errMaxLen(fmt.Sprintf("filters.%d.member.values", i+1), maxFilterValues)
		}
		cf := compiledFilter{key: f.Key}
		for _, v := range f.Values {
			if len(v) > maxFilterValue {
				return nil, errMaxLen(fmt.Sprintf("filters.%d.member.values", i+1), maxFilterValue)
			}
			cv := compiledValue{raw: v}
			if strings.HasPrefix(v, "!") {
				cv.negate, cv.raw = true, v[1:]
			}
			for _, t := range splitTerms(cv.raw) {
				cv.terms = append(cv.terms, strings.ToLower(t))
			}
			cf.values = append(cf.values, cv)
		}
		m = append(m, cf)
	}
	return m, nil
}

// match reports whether rec passes every filter.
func (m matcher) match(rec *rotor.SecretRecord) bool {
	for _, f := range m {
		if !f.match(rec) {
			return false
		}
	}
	return true
}

func (f compiledFilter) match(rec *rotor.SecretRecord) bool {
	attrs := f.attributes(rec)
	words := f.isWords()
	for _, v := range f.values {
		hit := false
		for _, a := range attrs {
			if words && wordMatch(v.terms, a) || !words && strings.HasPrefix(a, v.raw) {
				hit = true
				break
			}
		}
		if hit != v.negate {
			return true
		}
	}
	return false
}

// attributes lists the values of rec that filter key f.key looks at.
func (f compiledFilter) attributes(rec *rotor.SecretRecord) []string {
	var out []string
	switch f.key {
	case rotor.FilterName:
		out = append(out, rec.Name)
	case rotor.FilterDescription:
		if rec.Description != "" {
			out = append(out, rec.Description)
		}
	case rotor.FilterTagKey:
		for _, t := range rec.Tags {
			out = append(out, t.Key)
		}
	case rotor.FilterTagValue:
		for _, t := range rec.Tags {
			out = append(out, t.Value)
		}
	case rotor.FilterPrimaryRegion:
		if rec.PrimaryRegion != "" {
			out = append(out, rec.PrimaryRegion)
		} else {
			out = append(out, rec.Region)
		}
	case rotor.FilterOwningService:
		if rec.OwningService != "" {
			out = append(out, rec.OwningService)
		}
	case rotor.FilterAll:
		out = append(out, rec.Name)
		if rec.Description != "" {
			out = append(out, rec.Description)
		}
		for _, t := range rec.Tags {
			out = append(out, t.Key, t.Value)
		}
	}
	return out
}

// isWords reports whether f matches words (description, all), which only
// the manager evaluates, rather than prefixes, which the store evaluates.
func (f compiledFilter) isWords() bool {
	return f.key == rotor.FilterDescription || f.key == rotor.FilterAll
}

// storeFilters returns the prefix filters of m as store filters; they have
// the same semantics (rotor.PrefixValue). The word filters stay with match.
func (m matcher) storeFilters() []rotor.PrefixFilter {
	var out []rotor.PrefixFilter
	for _, f := range m {
		if f.isWords() {
			continue
		}
		pf := rotor.PrefixFilter{Key: f.key}
		for _, v := range f.values {
			pf.Values = append(pf.Values, rotor.PrefixValue{Prefix: v.raw, Negate: v.negate})
		}
		out = append(out, pf)
	}
	return out
}

// storeContains returns, for each word filter of m that it can narrow, a
// condition every secret the filter matches meets, for the store to leave
// out most of the others (match still decides). A pattern term t is a
// prefix of a lower-cased term of an attribute, so the attribute contains
// t ASCII-case-insensitively, provided t is ASCII without 'i' or 'k':
// strings.ToLower maps only those ASCII letters from non-ASCII runes
// (U+0130 to 'i', U+212A to 'k'), and the bytes of such a t can come only
// from ASCII bytes, contiguous in the attribute. Terms that do not qualify
// are left out of the condition (which only weakens it); a filter with a
// negated value is not narrowed, nor one with a value none of whose terms
// qualify.
func (m matcher) storeContains() []rotor.ContainsFilter {
	var out []rotor.ContainsFilter
	for _, f := range m {
		if !f.isWords() {
			continue
		}
		c := rotor.ContainsFilter{Fields: []string{rotor.FilterDescription}}
		if f.key == rotor.FilterAll {
			c.Fields = []string{rotor.FilterName, rotor.FilterDescription, rotor.FilterTagKey, rotor.FilterTagValue}
		}
		narrow := true
		for _, v := range f.values {
			if v.negate {
				narrow = false
				break
			}
			if len(v.terms) == 0 {
				continue // never matches: no alternative
			}
			var need []string
			for _, t := range v.terms {
				if containsOnly(t) {
					need = append(need, t)
				}
			}
			if len(need) == 0 {
				narrow = false
				break
			}
			c.AnyOf = append(c.AnyOf, need)
		}
		if narrow && len(c.AnyOf) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// containsOnly reports whether t is ASCII without 'i' or 'k' (see
// storeContains).
func containsOnly(t string) bool {
	for i := 0; i < len(t); i++ {
		if c := t[i]; c >= 0x80 || c == 'i' || c == 'k' {
			return false
		}
	}
	return true
}

// wordMatch reports whether every pattern term (already lower-cased) is a
// case-insensitive prefix of some term of s. No terms never match.
func wordMatch(pattern []string, s string) bool {
	if len(pattern) == 0 {
		return false
	}
	terms := splitTerms(s)
	for i := range terms {
		terms[i] = strings.ToLower(terms[i])
	}
	for _, p := range pattern {
		found := false
		for _, t := range terms {
			if strings.HasPrefix(t, p) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// separators split words when a string contains exactly one kind of them.
const separators = "/-_+=.@"

// splitTerms splits s into the terms the description and all filters
// match against, following the behaviour observed on AWS (aws-api.md §4):
//
//   - a string that is a lone separator has no terms;
//   - a string containing two or more different separators among / - _ + = . @
//     is one single term (it is only found by its own prefix);
//   - otherwise it is split on its one kind of separator and on white space,
//     and each piece is split at case changes: every run of a character that
//     is not a lower-case letter followed by lower-case letters is a term of
//     its own, as is each stretch between such runs ("SecretOne" → "Secret",
//     "One"; "COMPANYthings" → "COMPAN", "Ythings"; "MyDB" → "My", "DB").
func splitTerms(s string) []string {
	if len(s) == 1 && strings.Contains(separators, s) {
		return nil
	}
	var sep byte
	for i := 0; i < len(separators); i++ {
		if strings.IndexByte(s, separators[i]) < 0 {
			continue
		}
		if sep != 0 {
			return []string{s}
		}
		sep = separators[i]
	}
	pieces := []string{s}
	if sep != 0 {
		pieces = strings.Split(s, string(sep))
	}
	var out []string
	for _, p := range pieces {
		for _, f := range strings.Fields(p) {
			out = appendCaseTerms(out, f)
		}
	}
	return out
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// appendCaseTerms appends the case-change terms of s (no white space) to out.
func appendCaseTerms(out []string, s string) []string {
	start := 0
	for i := 0; i < len(s); {
		if !isLower(s[i]) && i+1 < len(s) && isLower(s[i+1]) {
			if i > start {
				out = append(out, s[start:i])
			}
			j := i + 1
			for j < len(s) && isLower(s[j]) {
				j++
			}
			out = append(out, s[i:j])
			start, i = j, j
			continue
		}
		i++
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
