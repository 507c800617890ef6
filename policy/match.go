package policy

import (
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of one piece of a compiled pattern.
type tokKind uint8

const (
	tokLit     tokKind = iota // literal text
	tokStar                   // '*': any run of characters, possibly empty
	tokStarSeg                // '*' inside an ARN segment: any run without ':'
	tokOne                    // '?': exactly one character (UTF-8 sequence)
	tokVar                    // a policy variable, replaced by the request's value (literally)
)

type token struct {
	kind tokKind
	text string // tokLit: the text; tokVar: the canonical (lower-case) key
	def  string // tokVar: the default value; used when hasDef
	// hasDef reports a default (${key, 'default'}); without one, a variable
	// whose key the request lacks makes the pattern match nothing.
	hasDef bool
	known  bool // tokVar: the key is one of Keys(); unknown keys never resolve
}

// pattern is a compiled string pattern: an exact string, "*" alone, or a
// glob of literal text, '*', '?' and policy variables. The zero value
// matches only "".
type pattern struct {
	src   string  // as written in the document
	exact string  // set when toks is nil and !any
	any   bool    // "*" alone
	toks  []token // wildcards or variables present
	vars  bool    // toks contains a tokVar
	// prefix is set when the pattern is literal text followed by one '*'
	// ("secretsmanager:Get*"), the most common wildcard, matched without
	// the general loop.
	prefix string
	isPref bool
	// seg is set when toks holds a tokStarSeg, which the backtracking loop
	// cannot handle; such patterns are matched by segMatch.
	seg bool
}

// compilePattern compiles s. wild enables '*' and '?'; vars enables policy
// variables (${key}, ${key, 'default'}, and the escapes ${*}, ${?}, ${$}).
// fold lower-cases the literal text (for case-insensitive matching, where
// the subject is folded while matching). arn applies the Resource element's
// rule: a '*' that ends an ARN segment (is followed by ':' or ends the
// pattern) may match across colons, any other '*' only within a segment.
func compilePattern(s string, wild, vars, fold, arn bool) (pattern, error) {
	p := pattern{src: s}
	if wild && s == "*" {
		p.any = true
		return p, nil
	}
	if !strings.ContainsAny(s, "*?") || !wild {
		if !vars || !strings.Contains(s, "${") {
			if fold {
				s = strings.ToLower(s)
			}
			p.exact = s
			return p, nil
		}
	}
	var toks []token
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t := lit.String()
			if fold {
				t = strings.ToLower(t)
			}
			toks = append(toks, token{kind: tokLit, text: t})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case wild && c == '*':
			flush()
			j := i
			for j+1 < len(s) && s[j+1] == '*' {
				j++
			}
			kind := tokStar
			if arn && j+1 < len(s) && s[j+1] != ':' {
				kind, p.seg = tokStarSeg, true
			}
			toks = append(toks, token{kind: kind})
			i = j
		case wild && c == '?':
			flush()
			toks = append(toks, token{kind: tokOne})
		case vars && c == '$' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				lit.WriteByte(c) // AWS treats an unterminated "${" as text
				continue
			}
			body := s[i+2 : i+end]
			i += end
			switch body {
			case "*", "?", "$":
				lit.WriteString(body)
				continue
			}
			t, err := compileVariable(body)
			if err != nil {
				return pattern{}, err
			}
			flush()
			toks = append(toks, t)
			p.vars = true
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	if !p.vars && len(toks) == 1 && toks[0].kind == tokLit {
		p.exact = toks[0].text
		return p, nil
	}
	if !p.vars && len(toks) == 0 {
		return p, nil
	}
	p.toks = toks
	if len(toks) == 2 && toks[0].kind == tokLit && toks[1].kind == tokStar {
		p.prefix, p.isPref = toks[0].text, true
	}
	return p, nil
}

// compileVariable compiles the inside of ${...}: a condition key, optionally
// followed by ", 'default'".
func compileVariable(body string) (token, error) {
	key, def, hasDef := strings.Cut(body, ",")
	key = strings.TrimSpace(key)
	t := token{kind: tokVar, text: strings.ToLower(key)}
	t.known = knownKey(t.text)
	if key == "" || strings.ContainsAny(key, " \t'") {
		return token{}, malformed("Invalid policy variable ${%s}.", body)
	}
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return token{}, malformed("Invalid policy variable ${%s}.", body)
		}
		t.def, t.hasDef = def[1:len(def)-1], true
	}
	return t, nil
}

// match reports whether s matches p. fold compares ASCII letters without
// regard to case (p's literal text is then already lower-case). ctx
// resolves policy variables; it may be nil when p has none. It does not
// allocate.
func (p *pattern) match(s string, fold bool, ctx Context) bool {
	if p.any {
		return true
	}
	if p.toks == nil {
		if fold {
			// Actions are usually written as the request names them: an
			// exact comparison settles that case at memory speed.
			return p.src == s || equalFoldASCII(p.exact, s)
		}
		return p.exact == s
	}
	if p.isPref {
		return hasPrefixFold(s, p.prefix, fold)
	}
	if p.seg {
		return segMatch(p.toks, s, ctx)
	}
	return globMatch(p.toks, s, fold, ctx)
}

// globMatch is the classic backtrack-to-the-last-star wildcard match,
// generalised to literal runs and variables: linear in the common case, and
// correct because only the last star ever needs to grow.
func globMatch(toks []token, s string, fold bool, ctx Context) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for {
		if ti < len(toks) {
			t := &toks[ti]
			switch t.kind {
			case tokStar:
				starT, starS = ti, si
				ti++
				continue
			case tokOne:
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					ti++
					si += n
					continue
				}
			case tokLit:
				if hasPrefixFold(s[si:], t.text, fold) {
					ti++
					si += len(t.text)
					continue
				}
			case tokVar:
				v, ok := resolve(t, ctx)
				if !ok {
					return false
				}
				if len(s)-si >= len(v) && (!fold && s[si:si+len(v)] == v || fold && equalFoldBoth(v, s[si:si+len(v)])) {
					ti++
					si += len(v)
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starT < 0 || starS >= len(s) {
			return false
		}
		starS++
		if next := starT + 1; !fold && next < len(toks) && toks[next].kind == tokLit {
			// Only a position where the literal after the star occurs can
			// succeed: jump to the next one, or give up if there is none
			// (the star can only grow).
			i := strings.Index(s[starS:], toks[next].text)
			if i < 0 {
				return false
			}
			starS += i
		}
		ti, si = starT+1, starS
	}
}

// resolve returns the value of a policy variable: the request's single value
// for its key, else its default.
func resolve(t *token, ctx Context) (string, bool) {
	if ctx != nil && t.known {
		if vs, ok := ctx.Value(t.text); ok && len(vs) == 1 {
			return vs[0], true
		}
	}
	return t.def, t.hasDef
}

func hasPrefixFold(s, prefix string, fold bool) bool {
	if len(s) < len(prefix) {
		return false
	}
	if fold {
		return equalFoldASCII(prefix, s[:len(prefix)])
	}
	return s[:len(prefix)] == prefix
}

// equalFoldASCII reports whether lower (already lower-case) equals s with
// ASCII letters compared without regard to case.
func equalFoldASCII(lower, s string) bool {
	if len(lower) != len(s) {
		return false
	}
	// Backwards: patterns and actions share their service prefix, so they
	// usually differ near the end.
	for i := len(s) - 1; i >= 0; i-- {
		if lowerASCII[s[i]] != lower[i] {
			return false
		}
	}
	return true
}

// equalFoldBoth is equalFoldASCII for two strings of any case (a policy
// variable's value against the request's).
func equalFoldBoth(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII[a[i]] != lowerASCII[b[i]] {
			return false
		}
	}
	return true
}

// lowerASCII maps each byte to itself with A-Z lower-cased.
var lowerASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] += 'a' - 'A'
		}
	}
	return t
}()

// arnPattern is a compiled ARN pattern for the Arn* condition operators:
// each of the six colon-separated fields is matched on its own, so a
// wildcard never spans a colon (the resource field keeps any colons it
// has).
type arnPattern struct {
	src    string
	fields [6]pattern
	// whole is set instead of fields for a value with fewer than six fields
	// that holds a policy variable ("${aws:PrincipalArn}"): it is matched
	// against the whole ARN once the variable is replaced.
	whole *pattern
}

func compileARNPattern(s string, vars bool) (arnPattern, bool) {
	a := arnPattern{src: s}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 {
		if !vars || !strings.Contains(s, "${") {
			return a, false
		}
		p, err := compilePattern(s, true, true, false, false)
		if err != nil || !p.vars {
			return a, false
		}
		a.whole = &p
		return a, true
	}
	for i, part := range parts {
		p, err := compilePattern(part, true, vars, false, false)
		if err != nil {
			return a, false
		}
		a.fields[i] = p
	}
	return a, true
}

func (a *arnPattern) match(s string, ctx Context) bool {
	if a.whole != nil {
		return strings.Count(s, ":") >= 5 && a.whole.match(s, false, ctx)
	}
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return false
		}
		if !a.fields[i].match(s[:j], false, ctx) {
			return false
		}
		s = s[j+1:]
	}
	return a.fields[5].match(s, false, ctx)
}

// matchFold is match without regard to case, Unicode-aware for exact
// patterns (StringEqualsIgnoreCase, Bool) and ASCII-only where p has
// variables.
func (p *pattern) matchFold(s string, ctx Context) bool {
	if p.toks == nil && !p.any {
		return strings.EqualFold(p.exact, s)
	}
	return p.match(s, true, ctx)
}

// maxSegMatch is the longest subject segMatch handles without allocating;
// Rotor's ARNs are far shorter.
const maxSegMatch = 2048

// segMatch matches case-sensitively a pattern holding segment-bound stars.
// The backtracking loop of globMatch is not correct when a star cannot
// grow, so this one tracks every reachable position of s as a bit set:
// linear in len(toks) times len(s), whatever the pattern.
func segMatch(toks []token, s string, ctx Context) bool {
	n := len(s)
	if n > maxSegMatch {
		return segMatchLong(toks, s, ctx)
	}
	var a, b [maxSegMatch/64 + 1]uint64
	return segRun(toks, s, ctx, a[:n/64+1], b[:n/64+1])
}

func segMatchLong(toks []token, s string, ctx Context) bool {
	w := len(s)/64 + 1
	return segRun(toks, s, ctx, make([]uint64, w), make([]uint64, w))
}

// segRun is segMatch over caller-provided bit sets of len(s)+1 bits.
func segRun(toks []token, s string, ctx Context, cur, next []uint64) bool {
	n := len(s)
	has := func(set []uint64, i int) bool { return set[i/64]&(1<<(i%64)) != 0 }
	set := func(set []uint64, i int) { set[i/64] |= 1 << (i % 64) }
	set(cur, 0)
	for ti := range toks {
		t := &toks[ti]
		clear(next)
		live := false
		switch t.kind {
		case tokStar:
			for i := 0; i <= n; i++ {
				if has(cur, i) {
					for j := i; j <= n; j++ {
						set(next, j)
					}
					live = true
					break
				}
			}
		case tokStarSeg:
			// From each reachable i, every position up to the next ':'.
			on := false
			for i := 0; i <= n; i++ {
				if has(cur, i) {
					on, live = true, true
				}
				if on {
					set(next, i)
				}
				if i < n && s[i] == ':' {
					on = false
				}
			}
		case tokOne:
			for i := 0; i < n; i++ {
				if has(cur, i) {
					_, w := utf8.DecodeRuneInString(s[i:])
					set(next, i+w)
					live = true
				}
			}
		case tokLit, tokVar:
			lit := t.text
			if t.kind == tokVar {
				v, ok := resolve(t, ctx)
				if !ok {
					return false
				}
				lit = v
			}
			for i := 0; i+len(lit) <= n; i++ {
				if has(cur, i) && s[i:i+len(lit)] == lit {
					set(next, i+len(lit))
					live = true
				}
			}
		}
		if !live {
			return false
		}
		cur, next = next, cur
	}
	return has(cur, n)
}
