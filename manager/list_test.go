package manager_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

// seedSecrets inserts n secrets directly through the store in one
// transaction, with many ties in the dates (the listing's tie-break is the
// ARN) and every tenth secret scheduled for deletion. It returns them.
func (e *env) seedSecrets(t testing.TB, n int) []*rotor.SecretRecord {
	t.Helper()
	base := e.clock.Now()
	var recs []*rotor.SecretRecord
	err := e.store.Update(context.Background(), func(tx rotor.Tx) error {
		for i := range n {
			r := &rotor.SecretRecord{
				ARN:    rotor.SecretARN(testRegion, testAccount, fmt.Sprintf("s%03d", (i*37)%n), fmt.Sprintf("x%05d", i)),
				Region: testRegion,
				Name:   fmt.Sprintf("s%03d", (i*37)%n),
				// created-date: distinct; last-changed-date: 10 ties per value;
				// last-accessed-date: 7 days, some never.
				CreatedDate:     base.Add(time.Duration(i) * time.Second),
				LastChangedDate: base.Add(time.Duration(i%25) * time.Minute),
			}
			if i%8 != 0 {
				r.LastAccessedDate = base.Truncate(24*time.Hour).AddDate(0, 0, i%7)
			}
			if i%10 == 9 {
				r.DeletedDate, r.PurgeDate = base, base.Add(7*24*time.Hour)
			}
			if err := tx.CreateSecret(r); err != nil {
				return err
			}
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return recs
}

func TestListSecretsPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recs := e.seedSecrets(t, 250)

	keyOf := func(r *rotor.SecretRecord, by string) string {
		switch by {
		case rotor.SortByName:
			return r.Name
		case rotor.SortByLastChangedDate:
			return fmt.Sprintf("%020d", r.LastChangedDate.UnixNano())
		case rotor.SortByLastAccessedDate:
			if r.LastAccessedDate.IsZero() {
				return ""
			}
			return fmt.Sprintf("%020d", r.LastAccessedDate.UnixNano())
		}
		return fmt.Sprintf("%020d", r.CreatedDate.UnixNano())
	}

	type combo struct {
		by, order string
		include   bool
	}
	combos := []combo{{"", "", false}, {rotor.SortByName, rotor.SortDesc, true}}
	for _, by := range []string{rotor.SortByCreatedDate, rotor.SortByName, rotor.SortByLastChangedDate, rotor.SortByLastAccessedDate} {
		for _, order := range []string{rotor.SortAsc, rotor.SortDesc} {
			combos = append(combos, combo{by, order, false})
		}
	}
	const pageSize = 23
	for _, c := range combos {
		by, order, include := c.by, c.order, c.include
		t.Run(fmt.Sprintf("%s/%s/deleted=%v", cmp.Or(by, "default"), cmp.Or(order, "default"), include), func(t *testing.T) {
			var want []string
			var live []*rotor.SecretRecord
			for _, r := range recs {
				if include || r.DeletedDate.IsZero() {
					live = append(live, r)
				}
			}
			slices.SortFunc(live, func(a, b *rotor.SecretRecord) int {
				c := strings.Compare(keyOf(a, by), keyOf(b, by))
				if c == 0 {
					c = strings.Compare(a.ARN, b.ARN)
				}
				if order == rotor.SortDesc {
					c = -c
				}
				return c
			})
			for _, r := range live {
				want = append(want, r.ARN)
			}

			var got []string
			next, pages := "", 0
			for {
				out, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{SortBy: by, SortOrder: order,
					IncludePlannedDeletion: include, MaxResults: pageSize, NextToken: next})
				if err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				pages++
				if len(out.Secrets) > pageSize {
					t.Fatalf("page of %d secrets", len(out.Secrets))
				}
				for _, s := range out.Secrets {
					got = append(got, s.ARN)
				}
				if next = out.NextToken; next == "" {
					break
				}
			}
			wantEqual(t, "listing", got, want)
			if wantPages := (len(want) + pageSize - 1) / pageSize; pages != wantPages {
				t.Fatalf("pages = %d, want %d", pages, wantPages)
			}
		})
	}

	t.Run("DefaultPageSize", func(t *testing.T) {
		out, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Secrets) != 100 || out.NextToken == "" {
			t.Fatalf("first page: %d secrets, NextToken %q", len(out.Secrets), out.NextToken)
		}
		if out.Secrets[0].Name != recs[0].Name {
			t.Fatalf("first secret = %q, want the oldest %q", out.Secrets[0].Name, recs[0].Name)
		}
	})

	t.Run("ErrBadNextToken", func(t *testing.T) {
		first, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{MaxResults: 5})
		if err != nil {
			t.Fatal(err)
		}
		tok := first.NextToken
		flipped := []byte(tok)
		flipped[len(flipped)/2] ^= 1
		for name, in := range map[string]rotor.ListSecretsInput{
			"Garbage":        {NextToken: "not-a-token"},
			"Base64Garbage":  {NextToken: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
			"Tampered":       {NextToken: string(flipped)},
			"Truncated":      {NextToken: tok[:len(tok)-3]},
			"OtherSort":      {NextToken: tok, SortBy: rotor.SortByName},
			"OtherOrder":     {NextToken: tok, SortOrder: rotor.SortDesc},
			"OtherFilters":   {NextToken: tok, Filters: []rotor.Filter{f("name", "s")}},
			"OtherDeletion":  {NextToken: tok, IncludePlannedDeletion: true},
			"OtherRotation":  {NextToken: tok, Rotation: rotor.RotationOff},
			"TooLong":        {NextToken: strings.Repeat("A", 4097)},
			"FromOtherQuery": {NextToken: versionToken(t, e)},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := e.svc.ListSecrets(e.ctx, in)
				wantErr(t, err, rotor.ENEXTTOKEN, "Invalid NextToken.")
			})
		}
		_, err = e.svc.ListSecrets(callerCtx(otherRegion), rotor.ListSecretsInput{NextToken: tok, MaxResults: 5})
		wantErr(t, err, rotor.ENEXTTOKEN, "")
		// A different page size is fine.
		if _, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{NextToken: tok, MaxResults: 50}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrBadParameters", func(t *testing.T) {
		for name, in := range map[string]rotor.ListSecretsInput{
			"SortBy":       {SortBy: "size"},
			"SortOrder":    {SortOrder: "up"},
			"MaxResults0-": {MaxResults: -1},
			"MaxResults":   {MaxResults: 101},
			"Rotation":     {Rotation: "yes"},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := e.svc.ListSecrets(e.ctx, in)
				wantErr(t, err, rotor.EVALIDATION, "")
			})
		}
	})
}

// TestListSecretsRotation: Rotation keeps the secrets whose rotation is
// enabled (on) or not (off), page by page, with the other filters.
func TestListSecretsRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recs := e.seedSecrets(t, 120)
	err := e.store.Update(context.Background(), func(tx rotor.Tx) error {
		for i, r := range recs {
			if i%7 == 3 || i%11 == 5 {
				r.Rotation = rotor.RotationConfig{Configured: true, Enabled: i%7 == 3, LambdaARN: rotor.LambdaARN(testRegion, testAccount, "fn")}
				if err := tx.UpdateSecret(r); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rotation string
		filters  []rotor.Filter
	}{
		{rotor.RotationOn, nil},
		{rotor.RotationOff, nil},
		{rotor.RotationOn, []rotor.Filter{f("name", "s0")}},
	} {
		var want []string
		for _, r := range recs {
			if r.DeletedDate.IsZero() && r.Rotation.Enabled == (tc.rotation == rotor.RotationOn) &&
				(tc.filters == nil || strings.HasPrefix(r.Name, "s0")) {
				want = append(want, r.Name)
			}
		}
		slices.Sort(want)
		var got []string
		next := ""
		for {
			out, err := e.svc.ListSecrets(e.ctx, rotor.ListSecretsInput{Rotation: tc.rotation, Filters: tc.filters,
				SortBy: rotor.SortByName, MaxResults: 4, NextToken: next})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range out.Secrets {
				got = append(got, s.Name)
			}
			if next = out.NextToken; next == "" {
				break
			}
		}
		wantEqual(t, "rotation "+tc.rotation, got, want)
	}
}

// versionToken returns a NextToken issued by ListSecretVersionIds.
func versionToken(t testing.TB, e *env) string {
	t.Helper()
	r := e.create(t, "tokens", "v")
	e.put(t, "tokens", tok(1), "v1")
	out, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: r.ARN, MaxResults: 1})
	if err != nil || out.NextToken == "" {
		t.Fatalf("ListSecretVersionIds: %v, token %q", err, out.NextToken)
	}
	return out.NextToken
}

func TestListSecretVersionIds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.create(t, "v", "v0")
	var want []string // newest first
	want = append(want, tok(0))
	for i := 1; i <= 11; i++ {
		if i%4 != 0 { // every fourth version shares its creation time with the previous
			e.clock.Advance(time.Minute)
		}
		e.put(t, "v", tok(i), "v")
		want = append([]string{tok(i)}, want...)
	}
	list := func(t *testing.T, max int, deprecated bool) []string {
		var got []string
		next := ""
		for {
			out, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: "v", MaxResults: max, NextToken: next, IncludeDeprecated: deprecated})
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "ARN", out.ARN, r.ARN)
			for _, v := range out.Versions {
				got = append(got, v.VersionID)
			}
			if next = out.NextToken; next == "" {
				return got
			}
		}
	}
	for _, max := range []int{0, 1, 3, 5, 100} {
		t.Run(fmt.Sprintf("MaxResults%d", max), func(t *testing.T) {
			wantEqual(t, "all versions", list(t, max, true), want)
			wantEqual(t, "labelled", list(t, max, false), want[:2])
		})
	}

	t.Run("ErrToken", func(t *testing.T) {
		out, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: "v", MaxResults: 2, IncludeDeprecated: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: "v", NextToken: out.NextToken})
		wantErr(t, err, rotor.ENEXTTOKEN, "Invalid NextToken.")
		e.create(t, "w", "x")
		_, err = e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: "w", NextToken: out.NextToken, IncludeDeprecated: true})
		wantErr(t, err, rotor.ENEXTTOKEN, "Invalid NextToken.")
		_, err = e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: "v", NextToken: "garbage"})
		wantErr(t, err, rotor.ENEXTTOKEN, "Invalid NextToken.")
	})

	t.Run("Entries", func(t *testing.T) {
		out, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: "v", MaxResults: 2})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "newest", out.Versions[0], rotor.VersionEntry{VersionID: tok(11), Stages: []string{"AWSCURRENT"},
			CreatedDate: e.clock.Now(), KmsKeyIDs: []string{"DefaultEncryptionKey"}})
	})

	t.Run("ErrUnknown", func(t *testing.T) {
		_, err := e.svc.ListSecretVersionIds(e.ctx, rotor.ListSecretVersionIdsInput{SecretID: "nope"})
		wantErr(t, err, rotor.ENOTFOUND, msgNotFound)
	})
}

func TestBatchGetSecretValue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.create(t, "batch/a", "va")
	b := e.create(t, "batch/b", "vb")
	e.create(t, "batch/empty", "")
	del := e.create(t, "batch/deleted", "vd")
	if _, err := e.svc.DeleteSecret(e.ctx, rotor.DeleteSecretInput{SecretID: del.ARN}); err != nil {
		t.Fatal(err)
	}
	secret := e.create(t, "batch/secret", "vs")
	e.put(t, "batch/a", tok(1), "va1")
	e.authz.deny = func(action, resource string) bool {
		return action == "secretsmanager:GetSecretValue" && resource == secret.ARN
	}

	values := func(out *rotor.BatchGetSecretValueOutput) map[string]string {
		m := map[string]string{}
		for _, v := range out.Values {
			if v.VersionID == "" || !slices.Equal(v.Stages, []string{"AWSCURRENT"}) {
				t.Fatalf("entry %+v is not an AWSCURRENT version", v)
			}
			m[v.Name] = *v.Value.String
		}
		return m
	}

	t.Run("ByID", func(t *testing.T) {
		out, err := e.svc.BatchGetSecretValue(e.ctx, rotor.BatchGetSecretValueInput{
			SecretIDs: []string{"batch/a", b.ARN, "batch/missing", "batch/empty", del.ARN, "batch/secret"}})
		if err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "values", values(out), map[string]string{"batch/a": "va1", "batch/b": "vb"})
		wantEqual(t, "errors", out.Errors, []rotor.BatchError{
			{SecretID: "batch/missing", Code: rotor.ENOTFOUND, Message: msgNotFound},
			{SecretID: "batch/empty", Code: rotor.ENOTFOUND, Message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"},
			{SecretID: del.ARN, Code: rotor.ESTATE, Message: msgMarkedForDelete},
			{SecretID: "batch/secret", Code: rotor.EDENIED, Message: "denied secretsmanager:GetSecretValue on " + secret.ARN},
		})
		if out.NextToken != "" {
			t.Fatalf("NextToken = %q", out.NextToken)
		}
	})

	t.Run("ByFilters", func(t *testing.T) {
		e.authz.reset()
		var got []string
		var errs []rotor.BatchError
		next, pages := "", 0
		for {
			out, err := e.svc.BatchGetSecretValue(e.ctx, rotor.BatchGetSecretValueInput{Filters: []rotor.Filter{f("name", "batch/")}, MaxResults: 2, NextToken: next})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, v := range out.Values {
				got = append(got, v.ARN)
			}
			errs = append(errs, out.Errors...)
			if next = out.NextToken; next == "" {
				break
			}
		}
		wantEqual(t, "values", got, []string{a.ARN, b.ARN})
		wantEqual(t, "errors", errs, []rotor.BatchError{
			{SecretID: errs[0].SecretID, Code: rotor.ENOTFOUND, Message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"},
			{SecretID: secret.ARN, Code: rotor.EDENIED, Message: "denied secretsmanager:GetSecretValue on " + secret.ARN},
		})
		if pages != 2 {
			t.Fatalf("pages = %d, want 2 (4 live secrets, 2 a page)", pages)
		}
		if calls := e.authz.reset(); len(calls) < 2 || calls[0] != (authCall{"secretsmanager:BatchGetSecretValue", ""}) ||
			calls[1] != (authCall{"secretsmanager:ListSecrets", ""}) {
			t.Fatalf("first authorizations = %+v, want the call, then the listing", calls)
		}
	})

	// The call itself needs secretsmanager:BatchGetSecretValue, as on AWS:
	// GetSecretValue on each secret is not enough.
	t.Run("ErrCallDenied", func(t *testing.T) {
		d := newEnv(t)
		d.create(t, "batch/a", "va")
		d.authz.deny = func(action, _ string) bool { return action == "secretsmanager:BatchGetSecretValue" }
		out, err := d.svc.BatchGetSecretValue(d.ctx, rotor.BatchGetSecretValueInput{SecretIDs: []string{"batch/a"}})
		wantErr(t, err, rotor.EDENIED, "denied secretsmanager:BatchGetSecretValue on ")
		if out != nil {
			t.Fatalf("output %+v with an error", out)
		}
	})

	for name, tc := range map[string]struct {
		in        rotor.BatchGetSecretValueInput
		code, msg string
	}{
		"ErrNeither":        {rotor.BatchGetSecretValueInput{}, rotor.EINVALID, "Either 'SecretIdList' or 'Filters' must be provided, but not both."},
		"ErrBoth":           {rotor.BatchGetSecretValueInput{SecretIDs: []string{"a"}, Filters: []rotor.Filter{f("name", "a")}}, rotor.EINVALID, "Either 'SecretIdList' or 'Filters' must be provided, but not both."},
		"ErrMaxResults":     {rotor.BatchGetSecretValueInput{SecretIDs: []string{"a"}, MaxResults: 5}, rotor.EINVALID, "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided."},
		"ErrMaxResultsHigh": {rotor.BatchGetSecretValueInput{Filters: []rotor.Filter{f("name", "a")}, MaxResults: 21}, rotor.EVALIDATION, ""},
		"ErrTooManyIDs":     {rotor.BatchGetSecretValueInput{SecretIDs: make([]string, 21)}, rotor.EVALIDATION, ""},
		"ErrTokenWithIDs":   {rotor.BatchGetSecretValueInput{SecretIDs: []string{"a"}, NextToken: "x"}, rotor.ENEXTTOKEN, ""},
		"ErrBadToken":       {rotor.BatchGetSecretValueInput{Filters: []rotor.Filter{f("name", "a")}, NextToken: "x"}, rotor.ENEXTTOKEN, "Invalid NextToken."},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.svc.BatchGetSecretValue(e.ctx, tc.in)
			wantErr(t, err, tc.code, tc.msg)
		})
	}

	t.Run("ErrListingDenied", func(t *testing.T) {
		e.authz.deny = func(action, _ string) bool { return action == "secretsmanager:ListSecrets" }
		defer func() { e.authz.deny = nil }()
		_, err := e.svc.BatchGetSecretValue(e.ctx, rotor.BatchGetSecretValueInput{Filters: []rotor.Filter{f("name", "batch/")}})
		wantErr(t, err, rotor.EDENIED, "")
	})
}
