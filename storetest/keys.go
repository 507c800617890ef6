package storetest

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/rotorhq/rotor"
)

func identity(name string, role rotor.Role, n int) *rotor.IdentityRecord {
	return &rotor.IdentityRecord{Name: name, Role: role, CreatedDate: at(n)}
}

func accessKey(id, ident, kek string, n int) *rotor.AccessKeyRecord {
	return &rotor.AccessKeyRecord{AccessKeyID: id, Identity: ident, Status: rotor.KeyActive,
		Secret: *sealed(kek, "key-"+id), CreatedDate: at(n)}
}

func createIdentities(t *testing.T, s rotor.Store, ids []*rotor.IdentityRecord, keys []*rotor.AccessKeyRecord) {
	t.Helper()
	update(t, s, func(tx rotor.Tx) error {
		for _, i := range ids {
			if err := tx.CreateIdentity(i); err != nil {
				return fmt.Errorf("CreateIdentity(%s): %w", i.Name, err)
			}
		}
		for _, k := range keys {
			if err := tx.CreateAccessKey(k); err != nil {
				return fmt.Errorf("CreateAccessKey(%s): %w", k.AccessKeyID, err)
			}
		}
		return nil
	})
}

func sameIdentities(t *testing.T, what string, got, want []*rotor.IdentityRecord) {
	t.Helper()
	g, w := make([]rotor.IdentityRecord, len(got)), make([]rotor.IdentityRecord, len(want))
	for i := range got {
		g[i] = normIdentity(got[i])
	}
	for i := range want {
		w[i] = normIdentity(want[i])
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s =\n\t%+v\nwant\n\t%+v", what, g, w)
	}
	for _, i := range got {
		checkUTC(t, what, i.CreatedDate)
	}
}

// sameKeys compares access keys as sets (ordered by id).
func sameKeys(t *testing.T, what string, got, want []*rotor.AccessKeyRecord) {
	t.Helper()
	norm := func(ks []*rotor.AccessKeyRecord) []rotor.AccessKeyRecord {
		out := make([]rotor.AccessKeyRecord, len(ks))
		for i, k := range ks {
			out[i] = normAccessKey(k)
		}
		slices.SortFunc(out, func(a, b rotor.AccessKeyRecord) int { return cmp.Compare(a.AccessKeyID, b.AccessKeyID) })
		return out
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s =\n\t%+v\nwant\n\t%+v", what, g, w)
	}
	for _, k := range got {
		checkUTC(t, what, k.CreatedDate)
	}
}

// testIdentityPolicy: an identity's inline policy is stored byte-exact
// (white space, key order and non-ASCII kept), created with the identity or
// set later, replaced, cleared, and SetIdentityPolicy on an unknown
// identity is ENOTFOUND; an identity may have no role.
func testIdentityPolicy(t *testing.T, s rotor.Store) {
	doc := "{\n  \"Version\": \"2012-10-17\",\t\"Statement\": [{\"Sid\": \"é\", \"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}]}\n"
	withPolicy := identity("app1", rotor.RoleNone, 1)
	withPolicy.Policy = doc
	plain := identity("app2", rotor.RoleReadOnly, 2)
	createIdentities(t, s, []*rotor.IdentityRecord{withPolicy, plain}, nil)
	get := func(name string) *rotor.IdentityRecord {
		t.Helper()
		var got *rotor.IdentityRecord
		view(t, s, func(tx rotor.Tx) error {
			var err error
			got, err = tx.Identity(name)
			return err
		})
		return got
	}
	if got := get("app1"); got.Policy != doc || got.Role != rotor.RoleNone {
		t.Errorf("Identity(app1) = %+v, want the policy byte-exact and no role", got)
	}
	if got := get("app2"); got.Policy != "" {
		t.Errorf("Identity(app2).Policy = %q, want none", got.Policy)
	}
	update(t, s, func(tx rotor.Tx) error { return tx.SetIdentityPolicy("app2", doc+" ") })
	if got := get("app2"); got.Policy != doc+" " || got.Role != rotor.RoleReadOnly {
		t.Errorf("Identity(app2) after SetIdentityPolicy = %+v", got)
	}
	update(t, s, func(tx rotor.Tx) error { return tx.SetIdentityPolicy("app1", "") })
	if got := get("app1"); got.Policy != "" {
		t.Errorf("Identity(app1).Policy after clearing = %q, want none", got.Policy)
	}
	view(t, s, func(tx rotor.Tx) error {
		all, err := tx.Identities()
		if err != nil {
			return err
		}
		for _, i := range all {
			if i.Name == "app2" && i.Policy != doc+" " {
				t.Errorf("Identities: app2.Policy = %q", i.Policy)
			}
		}
		return nil
	})
	updateCode(t, s, "SetIdentityPolicy(unknown)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.SetIdentityPolicy("nobody", doc)
	})
}

func testIdentityCRUD(t *testing.T, s rotor.Store) {
	admin := identity("admin", rotor.RoleAdmin, 2)
	reader := identity("reader", rotor.RoleReadOnly, 1)
	createIdentities(t, s, []*rotor.IdentityRecord{reader, admin}, nil)

	view(t, s, func(tx rotor.Tx) error {
		for _, want := range []*rotor.IdentityRecord{admin, reader} {
			got, err := tx.Identity(want.Name)
			if err != nil {
				t.Errorf("Identity(%s): %v", want.Name, err)
				continue
			}
			sameIdentities(t, "Identity("+want.Name+")", []*rotor.IdentityRecord{got}, []*rotor.IdentityRecord{want})
		}
		all, err := tx.Identities()
		if err != nil {
			t.Fatalf("Identities: %v", err)
		}
		slices.SortFunc(all, func(a, b *rotor.IdentityRecord) int { return cmp.Compare(a.Name, b.Name) })
		sameIdentities(t, "Identities", all, []*rotor.IdentityRecord{admin, reader})
		return nil
	})

	updateCode(t, s, "CreateIdentity(duplicate)", rotor.EEXISTS, func(tx rotor.Tx) error {
		return tx.CreateIdentity(identity("admin", rotor.RoleReadOnly, 9))
	})
	viewCode(t, s, "Identity(unknown)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.Identity("nobody")
		return err
	})

	update(t, s, func(tx rotor.Tx) error { return tx.DeleteIdentity("reader") })
	updateCode(t, s, "DeleteIdentity(deleted)", rotor.ENOTFOUND, func(tx rotor.Tx) error { return tx.DeleteIdentity("reader") })
	view(t, s, func(tx rotor.Tx) error {
		all, err := tx.Identities()
		if err != nil {
			t.Fatalf("Identities: %v", err)
		}
		sameIdentities(t, "Identities after delete", all, []*rotor.IdentityRecord{admin})
		if _, err := tx.Identity("reader"); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("Identity(deleted): err = %v, want ENOTFOUND", err)
		}
		return nil
	})

	// The name is free again.
	again := identity("reader", rotor.RoleAdmin, 5)
	createIdentities(t, s, []*rotor.IdentityRecord{again}, nil)
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.Identity("reader")
		if err != nil {
			t.Fatalf("Identity(re-created): %v", err)
		}
		sameIdentities(t, "re-created identity", []*rotor.IdentityRecord{got}, []*rotor.IdentityRecord{again})
		return nil
	})
}

func testAccessKeyCRUD(t *testing.T, s rotor.Store) {
	alice, bob := identity("alice", rotor.RoleAdmin, 1), identity("bob", rotor.RoleReadOnly, 2)
	a1 := accessKey("AKIAALICE0000000001", "alice", "kek-1", 10)
	a2 := accessKey("AKIAALICE0000000002", "alice", "kek-2", 11)
	b1 := accessKey("AKIABOB000000000001", "bob", "kek-1", 12)
	createIdentities(t, s, []*rotor.IdentityRecord{alice, bob}, []*rotor.AccessKeyRecord{a1, a2, b1})

	view(t, s, func(tx rotor.Tx) error {
		for _, want := range []*rotor.AccessKeyRecord{a1, a2, b1} {
			got, err := tx.AccessKey(want.AccessKeyID)
			if err != nil {
				t.Errorf("AccessKey(%s): %v", want.AccessKeyID, err)
				continue
			}
			sameKeys(t, "AccessKey("+want.AccessKeyID+")", []*rotor.AccessKeyRecord{got}, []*rotor.AccessKeyRecord{want})
		}
		for _, c := range []struct {
			identity string
			want     []*rotor.AccessKeyRecord
		}{
			{"alice", []*rotor.AccessKeyRecord{a1, a2}},
			{"bob", []*rotor.AccessKeyRecord{b1}},
			{"", []*rotor.AccessKeyRecord{a1, a2, b1}},
		} {
			got, err := tx.AccessKeys(c.identity)
			if err != nil {
				t.Errorf("AccessKeys(%q): %v", c.identity, err)
				continue
			}
			sameKeys(t, fmt.Sprintf("AccessKeys(%q)", c.identity), got, c.want)
		}
		return nil
	})

	updateCode(t, s, "CreateAccessKey(duplicate id)", rotor.EEXISTS, func(tx rotor.Tx) error {
		return tx.CreateAccessKey(accessKey(a1.AccessKeyID, "bob", "kek-3", 20))
	})
	updateCode(t, s, "CreateAccessKey(unknown identity)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.CreateAccessKey(accessKey("AKIANOBODY000000001", "nobody", "kek-1", 20))
	})
	viewCode(t, s, "AccessKey(unknown)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.AccessKey("AKIAUNKNOWN00000001")
		return err
	})
	viewCode(t, s, "AccessKeys(unknown identity)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		_, err := tx.AccessKeys("nobody")
		return err
	})

	update(t, s, func(tx rotor.Tx) error { return tx.SetAccessKeyStatus(a2.AccessKeyID, rotor.KeyInactive) })
	updateCode(t, s, "SetAccessKeyStatus(unknown)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		return tx.SetAccessKeyStatus("AKIAUNKNOWN00000001", rotor.KeyInactive)
	})
	inactive := *a2
	inactive.Status = rotor.KeyInactive
	update(t, s, func(tx rotor.Tx) error { return tx.DeleteAccessKey(a1.AccessKeyID) })
	updateCode(t, s, "DeleteAccessKey(deleted)", rotor.ENOTFOUND, func(tx rotor.Tx) error { return tx.DeleteAccessKey(a1.AccessKeyID) })

	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.AccessKeys("")
		if err != nil {
			t.Fatalf("AccessKeys: %v", err)
		}
		sameKeys(t, "AccessKeys after status change and delete", got, []*rotor.AccessKeyRecord{&inactive, b1})
		if _, err := tx.AccessKey(a1.AccessKeyID); rotor.ErrorCode(err) != rotor.ENOTFOUND {
			t.Errorf("AccessKey(deleted): err = %v, want ENOTFOUND", err)
		}
		return nil
	})
}

func testAccessKeyDeleteIdentityCascades(t *testing.T, s rotor.Store) {
	alice, bob := identity("alice", rotor.RoleAdmin, 1), identity("bob", rotor.RoleReadOnly, 2)
	a1 := accessKey("AKIAALICE0000000001", "alice", "kek-1", 10)
	a2 := accessKey("AKIAALICE0000000002", "alice", "kek-1", 11)
	b1 := accessKey("AKIABOB000000000001", "bob", "kek-1", 12)
	createIdentities(t, s, []*rotor.IdentityRecord{alice, bob}, []*rotor.AccessKeyRecord{a1, a2, b1})

	update(t, s, func(tx rotor.Tx) error { return tx.DeleteIdentity("alice") })
	view(t, s, func(tx rotor.Tx) error {
		for _, k := range []*rotor.AccessKeyRecord{a1, a2} {
			if _, err := tx.AccessKey(k.AccessKeyID); rotor.ErrorCode(err) != rotor.ENOTFOUND {
				t.Errorf("AccessKey(%s) of deleted identity: err = %v, want ENOTFOUND", k.AccessKeyID, err)
			}
		}
		all, err := tx.AccessKeys("")
		if err != nil {
			t.Fatalf("AccessKeys: %v", err)
		}
		sameKeys(t, "AccessKeys after DeleteIdentity(alice)", all, []*rotor.AccessKeyRecord{b1})
		if n, err := tx.CountSealedByKey("kek-1"); err != nil || n != 1 {
			t.Errorf("CountSealedByKey after cascade = %d, %v; want 1", n, err)
		}
		return nil
	})

	// Re-creating the identity does not bring its keys back.
	createIdentities(t, s, []*rotor.IdentityRecord{identity("alice", rotor.RoleAdmin, 30)}, nil)
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.AccessKeys("alice")
		if err != nil || len(got) != 0 {
			t.Errorf("AccessKeys(re-created alice) = %d keys, %v; want none", len(got), err)
		}
		return nil
	})
}

// Sealed values.

// sealedFixture stores, under kek "old": two versions with values on two
// secrets, a placeholder (no value), and two access keys; plus one version
// and one access key under kek "other". It returns the refs under "old".
func sealedFixture(t *testing.T, s rotor.Store) (want []rotor.SealedRef, arn1, arn2 string) {
	t.Helper()
	s1, s2 := secret(region1, "sealed-1", at(1)), secret(region2, "sealed-2", at(2))
	createSecrets(t, s, s1, s2)
	createIdentities(t, s, []*rotor.IdentityRecord{identity("keys", rotor.RoleAdmin, 1)}, []*rotor.AccessKeyRecord{
		accessKey("AKIAOLD000000000001", "keys", "old", 3),
		accessKey("AKIAOLD000000000002", "keys", "old", 4),
		accessKey("AKIAOTHER0000000001", "keys", "other", 5),
	})
	update(t, s, func(tx rotor.Tx) error {
		vs := []struct {
			arn, id string
			value   *rotor.Sealed
		}{
			{s1.ARN, "v1", sealed("old", "s1v1")},
			{s1.ARN, "v2", sealed("other", "s1v2")},
			{s1.ARN, "placeholder", nil},
			{s2.ARN, "v1", sealed("old", "s2v1")},
		}
		for i, v := range vs {
			if err := tx.CreateVersion(v.arn, &rotor.VersionRecord{ID: v.id, Value: v.value, CreatedDate: at(10 + i)}); err != nil {
				return err
			}
		}
		return nil
	})
	want = []rotor.SealedRef{
		{Kind: rotor.SealedVersion, SecretARN: s1.ARN, ID: "v1", Sealed: *sealed("old", "s1v1")},
		{Kind: rotor.SealedVersion, SecretARN: s2.ARN, ID: "v1", Sealed: *sealed("old", "s2v1")},
		{Kind: rotor.SealedAccessKey, ID: "AKIAOLD000000000001", Sealed: *sealed("old", "key-AKIAOLD000000000001")},
		{Kind: rotor.SealedAccessKey, ID: "AKIAOLD000000000002", Sealed: *sealed("old", "key-AKIAOLD000000000002")},
	}
	return want, s1.ARN, s2.ARN
}

func normRefs(refs []rotor.SealedRef) []rotor.SealedRef {
	out := make([]rotor.SealedRef, len(refs))
	for i, r := range refs {
		r.Sealed = normSealed(r.Sealed)
		out[i] = r
	}
	slices.SortFunc(out, func(a, b rotor.SealedRef) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.SecretARN, b.SecretARN), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func testSealedByKey(t *testing.T, s rotor.Store) {
	want, _, _ := sealedFixture(t, s)
	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.SealedByKey("old", 100)
		if err != nil {
			t.Fatalf("SealedByKey(old, 100): %v", err)
		}
		if g, w := normRefs(got), normRefs(want); !reflect.DeepEqual(g, w) {
			t.Errorf("SealedByKey(old, 100) =\n\t%+v\nwant\n\t%+v", g, w)
		}

		got, err = tx.SealedByKey("old", 3)
		if err != nil {
			t.Fatalf("SealedByKey(old, 3): %v", err)
		}
		if len(got) != 3 {
			t.Errorf("SealedByKey(old, 3) returned %d refs, want 3", len(got))
		}
		all := normRefs(want)
		for _, r := range normRefs(got) {
			if !slices.ContainsFunc(all, func(w rotor.SealedRef) bool { return reflect.DeepEqual(w, r) }) {
				t.Errorf("SealedByKey(old, 3) returned %+v, which is not stored under old", r)
			}
		}

		for _, c := range []struct {
			kek  string
			want int
		}{{"old", 4}, {"other", 2}, {"unused", 0}} {
			n, err := tx.CountSealedByKey(c.kek)
			if err != nil || n != c.want {
				t.Errorf("CountSealedByKey(%s) = %d, %v; want %d", c.kek, n, err, c.want)
			}
		}
		if got, err := tx.SealedByKey("unused", 10); err != nil || len(got) != 0 {
			t.Errorf("SealedByKey(unused) = %v, %v; want none", got, err)
		}
		return nil
	})
}

func testKeyIDsInUse(t *testing.T, s rotor.Store) {
	ids := func(what string) []string {
		t.Helper()
		var got []string
		view(t, s, func(tx rotor.Tx) (err error) {
			got, err = tx.KeyIDsInUse()
			return err
		})
		if got == nil {
			t.Fatalf("%s: KeyIDsInUse = nil, want a non-nil slice", what)
		}
		return got
	}
	if got := ids("empty store"); len(got) != 0 {
		t.Fatalf("KeyIDsInUse of an empty store = %v, want none", got)
	}
	_, arn1, _ := sealedFixture(t, s)
	if got, want := ids("fixture"), []string{"old", "other"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("KeyIDsInUse = %v, want %v", got, want)
	}
	// A key used only by an access key, and one used only by a version.
	createIdentities(t, s, []*rotor.IdentityRecord{identity("more", rotor.RoleReadOnly, 6)},
		[]*rotor.AccessKeyRecord{accessKey("AKIAKEYONLY00000001", "more", "a-key-only", 7)})
	update(t, s, func(tx rotor.Tx) error {
		return tx.CreateVersion(arn1, &rotor.VersionRecord{ID: "v3", Value: sealed("z-version-only", "s1v3"), CreatedDate: at(20)})
	})
	if got, want := ids("more"), []string{"a-key-only", "old", "other", "z-version-only"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("KeyIDsInUse = %v, want %v", got, want)
	}
}

func testSealedReplace(t *testing.T, s rotor.Store) {
	want, arn1, _ := sealedFixture(t, s)

	// Drain "old" in batches, as a key rotation does: each ref gets a new
	// wrapped key under "new" and keeps its ciphertext.
	rewrap := func(r rotor.SealedRef) rotor.Sealed {
		return rotor.Sealed{KeyID: "new", WrappedKey: append([]byte("rewrapped-"), r.Sealed.WrappedKey...), Ciphertext: r.Sealed.Ciphertext}
	}
	for round := 0; ; round++ {
		if round > len(want) {
			t.Fatalf("SealedByKey(old) still returns values after %d rounds", round)
		}
		var batch []rotor.SealedRef
		update(t, s, func(tx rotor.Tx) (err error) {
			if batch, err = tx.SealedByKey("old", 2); err != nil {
				return err
			}
			for _, r := range batch {
				if err := tx.ReplaceSealed(r, rewrap(r)); err != nil {
					return fmt.Errorf("ReplaceSealed(%s %s %s): %w", r.Kind, r.SecretARN, r.ID, err)
				}
			}
			return nil
		})
		if len(batch) == 0 {
			break
		}
	}

	var wantNew []rotor.SealedRef
	for _, r := range want {
		r.Sealed = rewrap(r)
		wantNew = append(wantNew, r)
	}
	view(t, s, func(tx rotor.Tx) error {
		if n, err := tx.CountSealedByKey("old"); err != nil || n != 0 {
			t.Errorf("CountSealedByKey(old) after rewrap = %d, %v; want 0", n, err)
		}
		if n, err := tx.CountSealedByKey("new"); err != nil || n != len(want) {
			t.Errorf("CountSealedByKey(new) after rewrap = %d, %v; want %d", n, err, len(want))
		}
		got, err := tx.SealedByKey("new", 100)
		if err != nil {
			t.Fatalf("SealedByKey(new): %v", err)
		}
		if g, w := normRefs(got), normRefs(wantNew); !reflect.DeepEqual(g, w) {
			t.Errorf("SealedByKey(new) =\n\t%+v\nwant\n\t%+v", g, w)
		}
		// Values read through the ordinary methods carry the new wrapping.
		v, err := tx.Version(arn1, "v1")
		if err != nil {
			t.Fatalf("Version(v1): %v", err)
		}
		if v.Value == nil || !reflect.DeepEqual(normSealed(*v.Value), normSealed(wantNew[0].Sealed)) {
			t.Errorf("Version(v1).Value = %+v, want %+v", v.Value, wantNew[0].Sealed)
		}
		k, err := tx.AccessKey("AKIAOLD000000000001")
		if err != nil {
			t.Fatalf("AccessKey: %v", err)
		}
		if !reflect.DeepEqual(normSealed(k.Secret), normSealed(wantNew[2].Sealed)) {
			t.Errorf("AccessKey.Secret = %+v, want %+v", k.Secret, wantNew[2].Sealed)
		}
		// Values under the other key were not touched.
		if n, err := tx.CountSealedByKey("other"); err != nil || n != 2 {
			t.Errorf("CountSealedByKey(other) = %d, %v; want 2", n, err)
		}
		return nil
	})
}

func testSealedReplaceRefused(t *testing.T, s rotor.Store) {
	want, arn1, _ := sealedFixture(t, s)
	for _, r := range want[1:3] { // one version, one access key
		changed := rotor.Sealed{KeyID: "new", WrappedKey: []byte("w"), Ciphertext: append([]byte("tampered-"), r.Sealed.Ciphertext...)}
		updateCode(t, s, "ReplaceSealed("+r.Kind+", changed ciphertext)", rotor.ESTATE, func(tx rotor.Tx) error {
			return tx.ReplaceSealed(r, changed)
		})
		flipped := rotor.Sealed{KeyID: "new", WrappedKey: []byte("w"), Ciphertext: slices.Clone(r.Sealed.Ciphertext)}
		flipped.Ciphertext[len(flipped.Ciphertext)-1] ^= 1
		updateCode(t, s, "ReplaceSealed("+r.Kind+", one bit changed)", rotor.ESTATE, func(tx rotor.Tx) error {
			return tx.ReplaceSealed(r, flipped)
		})
	}
	updateCode(t, s, "ReplaceSealed(placeholder)", rotor.ESTATE, func(tx rotor.Tx) error {
		return tx.ReplaceSealed(rotor.SealedRef{Kind: rotor.SealedVersion, SecretARN: arn1, ID: "placeholder"},
			rotor.Sealed{KeyID: "new", WrappedKey: []byte("w"), Ciphertext: []byte("c")})
	})
	updateCode(t, s, "ReplaceSealed(unknown version)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		r := want[0]
		r.ID = "nope"
		return tx.ReplaceSealed(r, r.Sealed)
	})
	updateCode(t, s, "ReplaceSealed(unknown access key)", rotor.ENOTFOUND, func(tx rotor.Tx) error {
		r := want[2]
		r.ID = "AKIAUNKNOWN00000001"
		return tx.ReplaceSealed(r, r.Sealed)
	})

	view(t, s, func(tx rotor.Tx) error {
		got, err := tx.SealedByKey("old", 100)
		if err != nil {
			t.Fatalf("SealedByKey(old): %v", err)
		}
		if g, w := normRefs(got), normRefs(want); !reflect.DeepEqual(g, w) {
			t.Errorf("stored values after refused replacements =\n\t%+v\nwant\n\t%+v", g, w)
		}
		v, err := tx.Version(arn1, "placeholder")
		if err != nil {
			t.Fatalf("Version(placeholder): %v", err)
		}
		if v.Value != nil {
			t.Errorf("placeholder has a value %+v after a refused ReplaceSealed", *v.Value)
		}
		return nil
	})
}
