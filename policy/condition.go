package policy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// opKind is the family of a condition operator.
type opKind uint8

const (
	opString           opKind = iota + 1 // StringEquals, StringNotEquals
	opStringIgnoreCase                   // StringEqualsIgnoreCase, StringNotEqualsIgnoreCase
	opStringLike                         // StringLike, StringNotLike
	opNumeric                            // Numeric*
	opDate                               // Date*
	opBool                               // Bool
	opBinary                             // BinaryEquals
	opIP                                 // IpAddress, NotIpAddress
	opARN                                // ArnEquals, ArnLike, ArnNotEquals, ArnNotLike
	opNull                               // Null
)

// cmpKind is the comparison of the Numeric* and Date* operators.
type cmpKind uint8

const (
	cmpEq cmpKind = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

// setKind is a condition's set operator.
type setKind uint8

const (
	setNone setKind = iota
	setAnyValue
	setAllValues
)

// operators maps each base operator name (without set prefix or IfExists)
// to its family, comparison and negation.
var operators = map[string]struct {
	op      opKind
	cmp     cmpKind
	negated bool
}{
	"StringEquals":              {opString, cmpEq, false},
	"StringNotEquals":           {opString, cmpEq, true},
	"StringEqualsIgnoreCase":    {opStringIgnoreCase, cmpEq, false},
	"StringNotEqualsIgnoreCase": {opStringIgnoreCase, cmpEq, true},
	"StringLike":                {opStringLike, cmpEq, false},
	"StringNotLike":             {opStringLike, cmpEq, true},
	"NumericEquals":             {opNumeric, cmpEq, false},
	"NumericNotEquals":          {opNumeric, cmpEq, true},
	"NumericLessThan":           {opNumeric, cmpLt, false},
	"NumericLessThanEquals":     {opNumeric, cmpLe, false},
	"NumericGreaterThan":        {opNumeric, cmpGt, false},
	"NumericGreaterThanEquals":  {opNumeric, cmpGe, false},
	"DateEquals":                {opDate, cmpEq, false},
	"DateNotEquals":             {opDate, cmpEq, true},
	"DateLessThan":              {opDate, cmpLt, false},
	"DateLessThanEquals":        {opDate, cmpLe, false},
	"DateGreaterThan":           {opDate, cmpGt, false},
	"DateGreaterThanEquals":     {opDate, cmpGe, false},
	"Bool":                      {opBool, cmpEq, false},
	"BinaryEquals":              {opBinary, cmpEq, false},
	"IpAddress":                 {opIP, cmpEq, false},
	"NotIpAddress":              {opIP, cmpEq, true},
	"ArnEquals":                 {opARN, cmpEq, false},
	"ArnLike":                   {opARN, cmpEq, false},
	"ArnNotEquals":              {opARN, cmpEq, true},
	"ArnNotLike":                {opARN, cmpEq, true},
	"Null":                      {opNull, cmpEq, false},
}

// condition is one compiled (operator, key, values) triple of a Condition
// element. A statement's conditions must all be true.
type condition struct {
	op       opKind
	cmp      cmpKind
	negated  bool
	ifExists bool
	set      setKind

	key     string // canonical (lower-case)
	known   bool   // key is one of Keys(); unknown keys are never looked up
	written string // the key as written, for findings
	opName  string // the operator as written

	pats  []pattern    // opString, opStringIgnoreCase, opStringLike, opBool, opBinary
	arns  []arnPattern // opARN; anyARN set when a value is "*"
	nums  []float64    // opNumeric
	times []time.Time  // opDate
	nets  []netip.Prefix
	nulls []bool // opNull: true means "the key is absent"

	anyARN bool
}

func (p *Policy) compileConditions(v any, vars bool) ([]condition, error) {
	ops, ok := v.(*object)
	if !ok {
		return nil, errSyntax
	}
	var out []condition
	for _, name := range ops.keys {
		keys, ok := ops.vals[name].(*object)
		if !ok {
			return nil, errSyntax
		}
		base, set := name, setNone
		if rest, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
			base, set = rest, setAnyValue
		} else if rest, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
			base, set = rest, setAllValues
		}
		ifExists := false
		if rest, ok := strings.CutSuffix(base, "IfExists"); ok && rest != "Null" {
			base, ifExists = rest, true
		}
		spec, ok := operators[base]
		if !ok || spec.op == opNull && set != setNone {
			return nil, malformed("Invalid Condition type : %s.", name)
		}
		for _, k := range keys.keys {
			vals, ok := scalarList(keys.vals[k])
			if !ok {
				return nil, errSyntax
			}
			if k == "" || !strings.Contains(k, ":") {
				return nil, malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
			}
			c := condition{
				op: spec.op, cmp: spec.cmp, negated: spec.negated, ifExists: ifExists, set: set,
				key: strings.ToLower(k), written: k, opName: name,
			}
			c.known = knownKey(c.key)
			if !c.known {
				p.unknown = append(p.unknown, k)
			}
			if err := c.compileValues(vals, vars); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func (c *condition) compileValues(vals []string, vars bool) error {
	bad := func(v string) error {
		return malformed("Invalid Condition value for %s on key %s: %q.", c.opName, c.written, v)
	}
	for _, v := range vals {
		switch c.op {
		case opString, opStringIgnoreCase, opStringLike:
			pat, err := compilePattern(v, c.op == opStringLike, vars, c.op == opStringIgnoreCase, false)
			if err != nil {
				return err
			}
			c.pats = append(c.pats, pat)
		case opBool, opBinary:
			c.pats = append(c.pats, pattern{src: v, exact: v})
		case opNumeric:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return bad(v)
			}
			c.nums = append(c.nums, f)
		case opDate:
			t, ok := parseDate(v)
			if !ok {
				return bad(v)
			}
			c.times = append(c.times, t)
		case opIP:
			pfx, ok := parseCIDR(v)
			if !ok {
				return bad(v)
			}
			c.nets = append(c.nets, pfx)
		case opARN:
			if v == "*" {
				c.anyARN = true
				continue
			}
			a, ok := compileARNPattern(v, vars)
			if !ok {
				return bad(v)
			}
			c.arns = append(c.arns, a)
		case opNull:
			switch strings.ToLower(v) {
			case "true":
				c.nulls = append(c.nulls, true)
			case "false":
				c.nulls = append(c.nulls, false)
			default:
				return bad(v)
			}
		}
	}
	return nil
}

// parseDate reads a date as AWS accepts it: ISO 8601 (a date alone, or a
// date and time with "Z" or an offset, optional seconds and fraction) or
// seconds since the Unix epoch.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:T") {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(n, 0), true
	}
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseCIDR reads an IpAddress value: a CIDR block or a single address.
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// eval reports whether the condition holds for the request, following
// AWS's rules:
//   - a key the request lacks (or has with no values): ...IfExists is true;
//     ForAnyValue is false; ForAllValues is true; otherwise a negated
//     operator is true and any other false;
//   - Null: true for "true" when the key is absent, for "false" when present;
//   - without a set operator, a positive operator is true when some request
//     value matches some policy value, and a negated one is its negation;
//   - ForAnyValue: some request value passes; ForAllValues: every one does,
//     where a value passes a negated operator when it matches no policy
//     value.
func (c *condition) eval(ctx Context) bool {
	var vals []string
	present := false
	if c.known && ctx != nil {
		vals, present = ctx.Value(c.key)
		present = present && len(vals) > 0
	}
	if c.op == opNull {
		for _, absent := range c.nulls {
			if absent != present {
				return true
			}
		}
		return false
	}
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == setAnyValue:
			return false
		case c.set == setAllValues:
			return true
		}
		return c.negated
	}
	switch c.set {
	case setAnyValue:
		for _, v := range vals {
			if c.matchAny(v, ctx) != c.negated {
				return true
			}
		}
		return false
	case setAllValues:
		for _, v := range vals {
			if c.matchAny(v, ctx) == c.negated {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.matchAny(v, ctx) {
			return !c.negated
		}
	}
	return c.negated
}

// matchAny reports whether request value v matches at least one of the
// condition's values under the positive form of its operator.
func (c *condition) matchAny(v string, ctx Context) bool {
	switch c.op {
	case opString, opStringLike, opBinary:
		for i := range c.pats {
			if c.pats[i].match(v, false, ctx) {
				return true
			}
		}
	case opStringIgnoreCase, opBool:
		for i := range c.pats {
			if c.pats[i].matchFold(v, ctx) {
				return true
			}
		}
	case opNumeric:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		for _, n := range c.nums {
			if compare(f, n, c.cmp) {
				return true
			}
		}
	case opDate:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, d := range c.times {
			if compare(t.Compare(d), 0, c.cmp) {
				return true
			}
		}
	case opIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap().WithZone("")
		for _, n := range c.nets {
			if n.Contains(a) {
				return true
			}
		}
	case opARN:
		if c.anyARN && strings.HasPrefix(v, "arn:") {
			return true
		}
		for i := range c.arns {
			if c.arns[i].match(v, ctx) {
				return true
			}
		}
	}
	return false
}

func compare[T int | float64](a, b T, c cmpKind) bool {
	switch c {
	case cmpLt:
		return a < b
	case cmpLe:
		return a <= b
	case cmpGt:
		return a > b
	case cmpGe:
		return a >= b
	}
	return a == b
}
