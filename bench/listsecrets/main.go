// Command listsecrets measures ListSecrets at scale: the latency of one
// page of 100 secrets out of N, unfiltered and filtered, and the time to walk
// every page.
//
//	go run ./bench/listsecrets [-n 10000,100000] [-samples 50] [-walk] [-before] [-dir DIR]
//
// For each N it builds a database of N secrets through the store (one
// version each with AWSCURRENT, two or three tags, big transactions; the
// sealed value is one real envelope blob reused, since listing never
// decrypts), or reuses DIR/list-N.db if a previous run left it. Then, in the
// same invocation, it times:
//
//   - manager: manager.Service.ListSecrets in process (validation, token,
//     store query, tags, versions, the response records), walking the first
//     -samples pages of each scenario with NextToken;
//   - reference: a hand-written, indexed SELECT of the same page (same
//     columns, same WHERE, ORDER BY and LIMIT 100, keyset on the same
//     pages) on the same database through database/sql, without tags or
//     versions. The ratio manager/reference is the figure to compare between
//     machines;
//   - before (-before, N ≤ 100000): one page the way the previous listPage
//     did it, reading every secret of the region (Tx.Secrets) and the page's
//     versions;
//   - walk (-walk): every page of the unfiltered listing, total and per page
//     for the first and last tenth of the pages (equal when the walk is
//     linear in the number of pages).
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/sqlite"
)

const (
	region  = "us-east-1"
	account = "123456789012"
	page    = 100
)

func main() {
	ns := flag.String("n", "10000,100000", "comma-separated numbers of secrets")
	samples := flag.Int("samples", 50, "pages timed per scenario")
	walk := flag.Bool("walk", true, "walk every page of the unfiltered listing")
	before := flag.Bool("before", true, "also time the previous algorithm (N <= 100000)")
	dir := flag.String("dir", "", "directory for the databases, kept for reuse (default: a temporary one, removed)")
	only := flag.String("only", "", "run only the scenarios whose name contains this")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed part to this file")
	flag.Parse()
	onlyScenario = *only
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "listsecrets:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*ns, *samples, *walk, *before, *dir); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "listsecrets:", err)
		os.Exit(1)
	}
}

func run(ns string, samples int, walk, before bool, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "listsecrets")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	for _, s := range strings.Split(ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-n: bad number %q", s)
		}
		if err := bench(filepath.Join(dir, fmt.Sprintf("list-%d.db", n)), n, samples, walk, before && n <= 100000); err != nil {
			return fmt.Errorf("N=%d: %w", n, err)
		}
	}
	return nil
}

type allowAll struct{}

func (allowAll) Authorize(context.Context, rotor.Caller, rotor.AccessRequest) error { return nil }

// scenario is one listing: its ListSecrets filters and sort, and the
// reference SQL's FROM (default secrets s), WHERE (after region and
// deletion) and sort column. The reference is the best plan by hand for
// that data: scan the sort order's index (+name keeps SQLite off the name
// index; tag_text rules out most rows without the tags table), or start
// from the few tags that match.
type scenario struct {
	name    string
	filters []rotor.Filter
	sortBy  string
	desc    bool
	from    string
	where   string
	col     string
}

// onlyScenario selects scenarios by name (-only).
var onlyScenario string

var scenarios = []scenario{
	{name: "unfiltered", col: "created_date"},
	{name: "unfiltered, name desc", sortBy: rotor.SortByName, desc: true, col: "name"},
	{name: "name prefix (1%)", filters: []rotor.Filter{{Key: rotor.FilterName, Values: []string{"svc-042/"}}},
		where: "+name >= 'svc-042/' AND +name < 'svc-0420'", col: "created_date"},
	{name: "tag value (2%)", filters: []rotor.Filter{{Key: rotor.FilterTagValue, Values: []string{"team-07"}}},
		where: "instr(s.tag_text, char(31) || 'team-07') > 0 AND EXISTS (SELECT 1 FROM tags t WHERE t.secret_arn = s.arn AND t.value >= 'team-07' AND t.value < 'team-08')",
		col:   "created_date"},
	{name: "tag key (0.1%)", filters: []rotor.Filter{{Key: rotor.FilterTagKey, Values: []string{"owner"}}},
		from: "(SELECT DISTINCT secret_arn FROM tags WHERE key >= 'owner' AND key < 'ownes') m CROSS JOIN secrets s ON s.arn = m.secret_arn",
		col:  "created_date"},
	{name: "description word (1%)", filters: []rotor.Filter{{Key: rotor.FilterDescription, Values: []string{"rotated"}}},
		where: "description LIKE '%rotated%'", col: "created_date"},
}

func bench(path string, n, samples int, walk, before bool) error {
	ctx := context.Background()
	built, err := build(ctx, path, n)
	if err != nil {
		return err
	}
	st, err := sqlite.Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	kr, err := envelope.Generate()
	if err != nil {
		return err
	}
	svc := manager.New(manager.Config{Store: st, Keyring: kr, Authorizer: allowAll{}, Account: account})
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return err
	}
	defer raw.Close()
	cctx := rotor.NewContext(ctx, rotor.Caller{Principal: rotor.Principal{Identity: "bench", Role: rotor.RoleAdmin}, Region: region, RequestID: "bench"})

	fmt.Printf("\nN = %d secrets (%s)\n", n, built)
	fmt.Printf("%-24s %6s %10s %10s %10s %10s %7s\n", "scenario", "pages", "p50", "p99", "ref p50", "ref p99", "p50/ref")
	for _, sc := range scenarios {
		if !strings.Contains(sc.name, onlyScenario) {
			continue
		}
		// Alternate manager and reference pages, so that both see the same
		// load on a shared machine.
		mgr, refw := managerPages(cctx, svc, sc), referencePages(ctx, raw, sc)
		var lat, ref []time.Duration
		for range samples {
			d, err := mgr()
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			lat = append(lat, d)
			if d, err = refw(); err != nil {
				return fmt.Errorf("%s reference: %w", sc.name, err)
			}
			ref = append(ref, d)
		}
		fmt.Printf("%-24s %6d %10s %10s %10s %10s %7.1f\n", sc.name, len(lat), ms(pct(lat, 50)), ms(pct(lat, 99)),
			ms(pct(ref, 50)), ms(pct(ref, 99)), float64(pct(lat, 50))/float64(pct(ref, 50)))
	}
	if before {
		lat, err := beforePages(ctx, st, 5)
		if err != nil {
			return err
		}
		fmt.Printf("%-24s %6d %10s %10s\n", "before: whole region", len(lat), ms(pct(lat, 50)), ms(pct(lat, 99)))
	}
	if walk {
		if err := walkAll(cctx, svc, n); err != nil {
			return err
		}
	}
	return nil
}

// build creates the database at path with n secrets unless it exists with
// them; it returns what it did and how long it took.
func build(ctx context.Context, path string, n int) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return "reused " + filepath.Base(path), nil
	}
	start := time.Now()
	st, err := sqlite.Open(path)
	if err != nil {
		return "", err
	}
	defer st.Close()
	kr, err := envelope.Generate()
	if err != nil {
		return "", err
	}
	blob, err := kr.Seal([]byte(`{"username":"app","password":"0123456789abcdef0123456789abcdef"}`), []byte("bench"))
	if err != nil {
		return "", err
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 20000
	for lo := 0; lo < n; lo += batch {
		err := st.Update(ctx, func(tx rotor.Tx) error {
			for i := lo; i < min(n, lo+batch); i++ {
				r := record(i, base)
				if err := tx.CreateSecret(r); err != nil {
					return err
				}
				v := &rotor.VersionRecord{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), Value: &blob, CreatedDate: r.CreatedDate}
				if err := tx.CreateVersion(r.ARN, v); err != nil {
					return err
				}
				if err := tx.SetStage(r.ARN, rotor.StageCurrent, v.ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("built in %s", time.Since(start).Round(time.Millisecond)), nil
}

// record is secret i: 100 services (name prefix svc-NNN/, 1% each), 50
// teams (tag value team-NN, 2% each), an owner tag on 0.1%, "rotated" in
// the description of 1%, one in 50 scheduled for deletion.
func record(i int, base time.Time) *rotor.SecretRecord {
	name := fmt.Sprintf("svc-%03d/secret-%07d", (i*7)%100, i)
	r := &rotor.SecretRecord{
		ARN:             rotor.SecretARN(region, account, name, fmt.Sprintf("%06x", i%0xffffff)),
		Region:          region,
		Name:            name,
		Description:     fmt.Sprintf("Database password for service %d", i%100),
		Tags:            []rotor.Tag{{Key: "env", Value: []string{"prod", "dev", "staging"}[i%3]}, {Key: "team", Value: fmt.Sprintf("team-%02d", i%50)}},
		TagsEverSet:     true,
		CreatedDate:     base.Add(time.Duration(i) * time.Second),
		LastChangedDate: base.Add(time.Duration(i) * time.Second),
	}
	if i%1000 == 3 {
		r.Tags = append(r.Tags, rotor.Tag{Key: "owner", Value: "alice"})
	}
	if i%100 == 11 {
		r.Description = "Rotated weekly by the ops team"
	}
	if i%50 == 49 {
		r.DeletedDate, r.PurgeDate = r.CreatedDate.Add(time.Hour), r.CreatedDate.Add(7*24*time.Hour)
	}
	return r
}

// managerPages returns a function that times the next page of sc through
// the manager, starting over after the last page.
func managerPages(ctx context.Context, svc *manager.Service, sc scenario) func() (time.Duration, error) {
	in := rotor.ListSecretsInput{Filters: sc.filters, SortBy: sc.sortBy, MaxResults: page}
	if sc.desc {
		in.SortOrder = rotor.SortDesc
	}
	return func() (time.Duration, error) {
		start := time.Now()
		out, err := svc.ListSecrets(ctx, in)
		if err != nil {
			return 0, err
		}
		d := time.Since(start)
		if len(out.Secrets) == 0 {
			return 0, errors.New("empty page")
		}
		in.NextToken = out.NextToken // "" after the last page: start over
		return d, nil
	}
}

// referencePages returns a function that times the hand-written query of
// sc on the next page, the same pages as managerPages.
func referencePages(ctx context.Context, db *sql.DB, sc scenario) func() (time.Duration, error) {
	dir, cmp := "ASC", ">"
	if sc.desc {
		dir, cmp = "DESC", "<"
	}
	where := "s.region = ? AND s.deleted_date = 0"
	if sc.where != "" {
		where += " AND " + sc.where
	}
	cols := `s.arn, s.region, s.name, s.description, s.kms_key_id, s.type, s.tags_ever_set,
		s.rotation_configured, s.rotation_enabled, s.rotation_lambda_arn, s.rotation_after_days,
		s.rotation_duration, s.rotation_schedule_expression, s.created_date, s.last_changed_date,
		s.last_accessed_date, s.last_rotated_date, s.next_rotation_date, s.deleted_date, s.purge_date,
		s.owning_service, s.primary_region, s.` + sc.col
	from := sc.from
	if from == "" {
		from = "secrets s"
	}
	// LIMIT page+1, as the manager reads, to know whether a page follows.
	first := fmt.Sprintf(`SELECT %s FROM %s WHERE %s ORDER BY s.%s %s, s.arn %s LIMIT %d`, cols, from, where, sc.col, dir, dir, page+1)
	next := fmt.Sprintf(`SELECT %s FROM %s WHERE %s AND (s.%s, s.arn) %s (?, ?) ORDER BY s.%s %s, s.arn %s LIMIT %d`,
		cols, from, where, sc.col, cmp, sc.col, dir, dir, page+1)
	var key any
	var arn string
	return func() (time.Duration, error) {
		start := time.Now()
		var rows *sql.Rows
		var err error
		if key == nil {
			rows, err = db.QueryContext(ctx, first, region)
		} else {
			rows, err = db.QueryContext(ctx, next, region, key, arn)
		}
		if err != nil {
			return 0, err
		}
		got := 0
		for rows.Next() {
			var r rowVals
			if err := rows.Scan(r.dest()...); err != nil {
				rows.Close()
				return 0, err
			}
			if got++; got == page {
				key, arn = r.key, r.arn
			}
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
		rows.Close()
		d := time.Since(start)
		if got <= page {
			key = nil // the last page: start over
		}
		return d, nil
	}
}

type rowVals struct {
	arn, region, name, desc, kms, typ, lambda, dur, sched, owning, primary string
	ever, conf, enabled                                                    bool
	after, created, changed, accessed, rotated, next, deleted, purge       int64
	key                                                                    any
}

func (r *rowVals) dest() []any {
	return []any{&r.arn, &r.region, &r.name, &r.desc, &r.kms, &r.typ, &r.ever, &r.conf, &r.enabled, &r.lambda, &r.after,
		&r.dur, &r.sched, &r.created, &r.changed, &r.accessed, &r.rotated, &r.next, &r.deleted, &r.purge,
		&r.owning, &r.primary, &r.key}
}

// beforePages times one page read the way the previous listPage did:
// every secret of the region with its tags, then the page's versions.
func beforePages(ctx context.Context, st rotor.Store, samples int) ([]time.Duration, error) {
	var lat []time.Duration
	for range samples {
		start := time.Now()
		err := st.View(ctx, func(tx rotor.Tx) error {
			recs, err := tx.Secrets(region)
			if err != nil {
				return err
			}
			live := recs[:0]
			for _, r := range recs {
				if r.DeletedDate.IsZero() {
					live = append(live, r)
				}
			}
			slices.SortFunc(live, func(a, b *rotor.SecretRecord) int {
				if c := a.CreatedDate.Compare(b.CreatedDate); c != 0 {
					return c
				}
				return strings.Compare(a.ARN, b.ARN)
			})
			for _, r := range live[:min(page, len(live))] {
				if _, err := tx.Versions(r.ARN); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(start))
	}
	return lat, nil
}

// walkAll lists every page of the unfiltered listing and reports the time
// per page over the first and the last tenth of the pages.
func walkAll(ctx context.Context, svc *manager.Service, n int) error {
	in := rotor.ListSecretsInput{MaxResults: page}
	var lat []time.Duration
	listed := 0
	start := time.Now()
	for {
		t0 := time.Now()
		out, err := svc.ListSecrets(ctx, in)
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
		listed += len(out.Secrets)
		if out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	total := time.Since(start)
	tenth := max(1, len(lat)/10)
	fmt.Printf("walk: %d pages, %d secrets listed (of %d; 2%% scheduled for deletion) in %s = %s/page; first tenth %s/page, last tenth %s/page\n",
		len(lat), listed, n, total.Round(time.Millisecond), ms(total/time.Duration(len(lat))),
		ms(mean(lat[:tenth])), ms(mean(lat[len(lat)-tenth:])))
	return nil
}

func mean(d []time.Duration) time.Duration {
	var s time.Duration
	for _, x := range d {
		s += x
	}
	return s / time.Duration(len(d))
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
