package console

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// Listing limits.
const (
	pageSize      = 50   // secrets per page
	activeRuns    = 1000 // running (and pending) runs read to find stuck ones
	historyRuns   = 20   // runs shown on a secret's page
	attentionRows = 200
)

// Actions the console asks about (see manager.Allowed).
const (
	actGetSecretValue = "secretsmanager:GetSecretValue"
	actRotateSecret   = "secretsmanager:RotateSecret"
	actCancelRotate   = "secretsmanager:CancelRotateSecret"
	actAbandon        = "rotor:AbandonRotation"
	actListRuns       = "rotor:ListRotationRuns"
	actListIdentities = "rotor:ListIdentities"
	actCreateKey      = "rotor:CreateAccessKey"
	actUpdateKey      = "rotor:UpdateAccessKey"
	actDeleteKey      = "rotor:DeleteAccessKey"
)

var funcs = template.FuncMap{
	"time":  fmtTime,
	"short": shortID,
	"dur": func(d time.Duration) string {
		if d < time.Second {
			return d.Round(time.Millisecond).String()
		}
		return d.Round(10 * time.Millisecond).String()
	},
	"join": strings.Join,
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"signin", "secrets", "secret", "attention", "identities", "error"} {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// layout is what every page's frame shows.
type layout struct {
	Title   string
	Nav     string
	User    string
	Role    string
	Region  string
	Regions []string
	CSRF    string
	Flash   string
	Error   string
	Admin   bool // may read the run history (needs attention, the failed filter)
	IDs     bool // may list identities
	Data    any
}

func (h *Handler) render(w http.ResponseWriter, status int, page string, l layout) {
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, "layout.html", l); err != nil {
		h.cfg.Logger.Error("console: render", "page", page, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// frame is the layout for a signed-in request.
func (h *Handler) frame(q *request, title, nav string, data any) layout {
	return layout{Title: title, Nav: nav, User: q.p.Identity, Role: string(q.p.Role), Region: q.region,
		Regions: h.cfg.Regions, CSRF: q.csrf, Flash: flashText[q.flash], Data: data,
		Admin: h.cfg.Secrets.Allowed(q.ctx, actListRuns, "") == nil,
		IDs:   h.cfg.Secrets.Allowed(q.ctx, actListIdentities, "") == nil}
}

// flashText are the messages a redirect after a POST may show (by code,
// so a link cannot put words on the page).
var flashText = map[string]string{
	"rotate":    "Rotation started.",
	"retry":     "The previous rotation will be reattempted.",
	"cancel":    "Rotation cancelled and disabled for this secret.",
	"abandon":   "Rotation abandoned.",
	"keystatus": "Access key updated.",
	"keydelete": "Access key deleted.",
}

// fail renders the error page. q may be nil (no session).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, q *request, status int, msg string) {
	l := layout{Title: "Error", Error: msg, Regions: h.cfg.Regions}
	if q != nil {
		l = h.frame(q, "Error", "", nil)
		l.Error = msg
	}
	h.render(w, status, "error", l)
}

// failErr renders err as the API would word it.
func (h *Handler) failErr(q *request, err error) {
	code, msg := awsapi.ErrorAnswer(err)
	status := http.StatusBadRequest
	switch rotor.ErrorCode(err) {
	case rotor.EDENIED:
		status = http.StatusForbidden
	case rotor.ENOTFOUND:
		status = http.StatusNotFound
	case rotor.EUNAVAILABLE:
		status = http.StatusServiceUnavailable
	}
	if code == "InternalServiceError" {
		status = http.StatusInternalServerError
		h.cfg.Logger.Error("console: request failed", "request_id", q.reqID, "err", err)
	}
	h.fail(q.w, q.r, q, status, msg)
}

// Sign-in.

type signInData struct {
	AccessKeyID string
	Ended       bool
	Out         bool
}

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	d := signInData{Ended: r.FormValue("ended") != "", Out: r.FormValue("out") != ""}
	h.render(w, http.StatusOK, "signin", layout{Title: "Sign in", Data: d})
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, nil, http.StatusBadRequest, "The form could not be read.")
		return
	}
	id, secret := strings.TrimSpace(r.PostForm.Get("access_key_id")), r.PostForm.Get("secret_access_key")
	ip, throttleKey := remoteIP(r.RemoteAddr), ""
	if plausibleKeyID(id) {
		throttleKey = id
	}
	reserved, err := h.beginSignIn(r)
	var p rotor.Principal
	var wait time.Duration
	if err == nil {
		var ok bool
		if ok, wait = h.throttle.take(ip, throttleKey, h.cfg.Now()); !ok {
			err = rotor.Errorf(rotor.ETHROTTLED, "Too many failed sign-ins from this address or with this access key.")
		}
	}
	if err == nil {
		if p, err = h.cfg.Auth.VerifySecret(r.Context(), id, secret); err == nil {
			h.throttle.succeeded(ip, throttleKey, h.cfg.Now())
		}
	}
	h.auditSignIn(r, id, p, err, reserved)
	if err != nil {
		msg, status := "The access key id or secret access key is wrong, or the key is not active.", http.StatusUnauthorized
		switch rotor.ErrorCode(err) {
		case rotor.ETHROTTLED:
			secs := int64(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			msg, status = "Too many failed sign-ins from this address or with this access key. Try again in "+
				strconv.FormatInt(secs, 10)+" seconds.", http.StatusTooManyRequests
		case rotor.EINTERNAL:
			h.cfg.Logger.Error("console: sign-in", "err", err)
			msg, status = "Signing in failed on the server; try again later.", http.StatusInternalServerError
		case rotor.EUNAVAILABLE:
			_, msg = awsapi.ErrorAnswer(err)
			status = http.StatusServiceUnavailable
		}
		d := signInData{}
		if plausibleKeyID(id) { // a secret pasted into the wrong field is not shown again
			d.AccessKeyID = id
		}
		h.render(w, status, "signin", layout{Title: "Sign in", Error: msg, Data: d})
		return
	}
	nonce, err := newNonce()
	if err != nil {
		h.fail(w, r, nil, http.StatusInternalServerError, "Signing in failed on the server; try again later.")
		return
	}
	now := h.cfg.Now()
	kid, _, ok := h.keys("")
	if !ok {
		h.fail(w, r, nil, http.StatusInternalServerError, "Signing in failed on the server; try again later.")
		return
	}
	h.setCookie(w, r, session{KeyID: kid, AccessKeyID: p.AccessKeyID, Nonce: nonce, Issued: now, Seen: now})
	http.Redirect(w, r, Prefix+"secrets", http.StatusSeeOther)
}

// signOut ends the session: the browser's cookie is cleared, and this
// server refuses the session from now on (a copy of the cookie included)
// until it would have expired.
func (h *Handler) signOut(q *request) {
	h.signedOut.revoke(q.sess.Nonce, q.sess.Issued.Add(h.cfg.SessionMaxAge), h.cfg.Now())
	h.clearCookie(q.w, q.r)
	http.Redirect(q.w, q.r, Prefix+"signin?out=1", http.StatusSeeOther)
}

// Secrets list.

type secretsData struct {
	Q, Rotation, TagKey, TagValue string
	Failed                        bool
	Rows                          []secretRow
	Next                          string // the link to the next page, "" for none
	Note                          string
}

type secretRow struct {
	ARN, Name, Description string
	Rotation               bool
	LastRotated, NextRot   time.Time
	LastChanged            time.Time
	Tags                   []rotor.Tag
	Deleted                bool
	Link                   string
}

func (h *Handler) secretsPage(q *request) {
	f := q.r.URL.Query()
	d := secretsData{Q: f.Get("q"), Rotation: f.Get("rotation"), TagKey: f.Get("tag_key"), TagValue: f.Get("tag_value"),
		Failed: f.Get("failed") != ""}
	if d.Rotation != "on" && d.Rotation != "off" {
		d.Rotation = ""
	}
	if d.Failed {
		keep := func(s rotor.SecretDescription) bool {
			return d.Rotation == "" || (d.Rotation == rotor.RotationOn) == s.Rotation.Enabled
		}
		if err := h.listFailed(q, &d, keep); err != nil {
			h.failErr(q, err)
			return
		}
	} else {
		// One page of ListSecrets by name, every filter evaluated by the
		// store from its indexes: the same cost at 100,000 secrets.
		var filters []rotor.Filter
		for _, kv := range [][2]string{{rotor.FilterName, d.Q}, {rotor.FilterTagKey, d.TagKey}, {rotor.FilterTagValue, d.TagValue}} {
			if kv[1] != "" {
				filters = append(filters, rotor.Filter{Key: kv[0], Values: []string{kv[1]}})
			}
		}
		out, err := h.cfg.Secrets.ListSecrets(q.ctx, rotor.ListSecretsInput{MaxResults: pageSize, NextToken: f.Get("next"),
			Filters: filters, Rotation: d.Rotation, SortBy: rotor.SortByName})
		if err != nil {
			h.failErr(q, err)
			return
		}
		for _, s := range out.Secrets {
			d.Rows = append(d.Rows, h.row(q, s))
		}
		if out.NextToken != "" {
			v := url.Values{"region": {q.region}, "next": {out.NextToken}}
			for k, x := range map[string]string{"q": d.Q, "rotation": d.Rotation, "tag_key": d.TagKey, "tag_value": d.TagValue} {
				if x != "" {
					v.Set(k, x)
				}
			}
			d.Next = Prefix + "secrets?" + v.Encode()
		}
	}
	h.render(q.w, http.StatusOK, "secrets", h.frame(q, "Secrets", "secrets", d))
}

func (h *Handler) row(q *request, s rotor.SecretDescription) secretRow {
	return secretRow{ARN: s.ARN, Name: s.Name, Description: s.Description, Rotation: s.Rotation.Enabled,
		LastRotated: s.LastRotatedDate, NextRot: s.NextRotationDate, LastChanged: s.LastChangedDate,
		Tags: s.Tags, Deleted: !s.DeletedDate.IsZero(), Link: secretLink(q.region, s.ARN)}
}

func secretLink(region, arn string) string {
	return Prefix + "secret?" + url.Values{"region": {region}, "id": {arn}}.Encode()
}

// listFailed lists a page of the secrets whose latest run failed
// (Secrets.LatestFailedRuns: one indexed page, whatever the number of
// runs), most recent failure first. The other filters narrow that page, so
// a page may show fewer rows than it read; its link continues after it.
func (h *Handler) listFailed(q *request, d *secretsData, keep func(rotor.SecretDescription) bool) error {
	runs, next, err := h.cfg.Secrets.LatestFailedRuns(q.ctx, q.r.URL.Query().Get("next"), pageSize)
	if err != nil {
		return err
	}
	for _, r := range runs {
		s, err := h.cfg.Secrets.DescribeSecret(q.ctx, r.SecretARN)
		if err != nil {
			continue // deleted since, or not visible to this caller
		}
		if !strings.HasPrefix(s.Name, d.Q) || !keep(*s) || !hasTag(s.Tags, d.TagKey, d.TagValue) {
			continue
		}
		d.Rows = append(d.Rows, h.row(q, *s))
	}
	if next != "" {
		v := url.Values{"region": {q.region}, "next": {next}, "failed": {"1"}}
		for k, x := range map[string]string{"q": d.Q, "rotation": d.Rotation, "tag_key": d.TagKey, "tag_value": d.TagValue} {
			if x != "" {
				v.Set(k, x)
			}
		}
		d.Next = Prefix + "secrets?" + v.Encode()
	}
	d.Note = "Secrets whose latest rotation run failed, the most recent failure first."
	if d.Q != "" || d.Rotation != "" || d.TagKey != "" || d.TagValue != "" {
		d.Note += " The other filters apply to each page of 50 failures, so a page may show fewer."
	}
	return nil
}

func hasTag(tags []rotor.Tag, key, value string) bool {
	if key == "" && value == "" {
		return true
	}
	for _, t := range tags {
		if strings.HasPrefix(t.Key, key) && strings.HasPrefix(t.Value, value) {
			return true
		}
	}
	return false
}

// Secret page.

type secretData struct {
	S           *rotor.SecretDescription
	Versions    []versionRow
	Timeline    timeline
	Events      []rotor.StageEvent
	Runs        []runView
	RunsDenied  bool
	Active      bool // a run is pending or running
	Stuck       bool // ... but has made no progress for StuckAfter: the page does not refresh
	Revealed    *revealed
	CanReveal   bool
	CanRotate   bool
	CanCancel   bool
	CanAbandon  bool
	LastFailed  bool
	IDValue     string // the id to post back
	RotationFn  string
	Schedule    string
	Deleted     bool
	HiddenValue string
}

type versionRow struct {
	ID          string
	Stages      []string
	Created     time.Time
	LastAccess  time.Time
	Placeholder bool
}

type runView struct {
	Run   rotor.RunRecord
	Steps []rotor.StepRecord
	Total time.Duration
}

type revealed struct {
	VersionID string
	Stages    []string
	Text      string
	Binary    bool
}

func (h *Handler) secretPage(q *request) {
	h.showSecret(q, q.r.FormValue("id"), nil, http.StatusOK)
}

func (h *Handler) showSecret(q *request, id string, rev *revealed, status int) {
	desc, err := h.cfg.Secrets.DescribeSecret(q.ctx, id)
	if err != nil {
		h.failErr(q, err)
		return
	}
	d := secretData{S: desc, Revealed: rev, IDValue: desc.ARN, Deleted: !desc.DeletedDate.IsZero(),
		RotationFn: desc.Rotation.LambdaARN}
	rules := desc.Rotation.Rules
	switch {
	case rules.ScheduleExpression != "":
		d.Schedule = rules.ScheduleExpression
	case rules.AutomaticallyAfterDays > 0:
		d.Schedule = "every " + strconv.FormatInt(rules.AutomaticallyAfterDays, 10) + " days"
	}
	if rules.Duration != "" {
		d.Schedule += ", window " + rules.Duration
	}
	vs, err := h.cfg.Secrets.ListSecretVersionIds(q.ctx, rotor.ListSecretVersionIdsInput{SecretID: desc.ARN, IncludeDeprecated: true})
	if err != nil {
		h.failErr(q, err)
		return
	}
	created := map[string]time.Time{}
	var order []string
	for _, v := range vs.Versions {
		d.Versions = append(d.Versions, versionRow{ID: v.VersionID, Stages: v.Stages, Created: v.CreatedDate, LastAccess: v.LastAccessedDate})
		created[v.VersionID] = v.CreatedDate
	}
	for i := len(vs.Versions) - 1; i >= 0; i-- { // oldest first
		order = append(order, vs.Versions[i].VersionID)
	}
	events, err := h.cfg.Secrets.StageHistory(q.ctx, desc.ARN, 0)
	if err != nil {
		h.failErr(q, err)
		return
	}
	for _, ev := range events { // versions pruned since still get a colour
		if ev.VersionID != "" && !slices.Contains(order, ev.VersionID) {
			order = append(order, ev.VersionID)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		ti, iok := created[order[i]]
		tj, jok := created[order[j]]
		return iok && jok && ti.Before(tj)
	})
	now := h.cfg.Now()
	d.Timeline = buildTimeline(labelSegments(events, desc.VersionStages, created, now), order, now)
	d.Events = events
	if hist, err := h.cfg.Secrets.RotationHistory(q.ctx, desc.ARN, historyRuns); err == nil {
		for _, r := range hist {
			rv := runView{Run: r.Run, Steps: r.Steps}
			for _, s := range r.Steps {
				rv.Total += s.Duration
			}
			d.Runs = append(d.Runs, rv)
		}
		if len(hist) > 0 {
			d.Active = hist[0].Run.Active()
			d.Stuck = h.stuck(hist[0].Run, h.cfg.Now())
			d.LastFailed = hist[0].Run.Status == rotor.RunFailed
		}
	} else if rotor.ErrorCode(err) == rotor.EDENIED {
		d.RunsDenied = true
	} else {
		h.failErr(q, err)
		return
	}
	allowed := func(action string) bool { return h.cfg.Secrets.Allowed(q.ctx, action, desc.ARN) == nil }
	d.CanReveal = allowed(actGetSecretValue)
	if !d.Deleted {
		d.CanRotate = allowed(actRotateSecret) && desc.Rotation.LambdaARN != ""
		d.CanCancel = allowed(actCancelRotate) && desc.Rotation.Enabled
		d.CanAbandon = allowed(actAbandon) && (d.Active || d.LastFailed || hasStrayPending(desc))
	}
	h.render(q.w, status, "secret", h.frame(q, desc.Name, "secrets", d))
}

// hasStrayPending reports AWSPENDING on a version that is not AWSCURRENT.
func hasStrayPending(d *rotor.SecretDescription) bool {
	for _, st := range d.VersionStages {
		if slices.Contains(st, rotor.StagePending) && !slices.Contains(st, rotor.StageCurrent) {
			return true
		}
	}
	return false
}

// reveal shows one version's value, after authorizing it as
// GetSecretValue (the manager does) and auditing it like one.
func (h *Handler) reveal(q *request) {
	id, version := q.r.PostForm.Get("id"), q.r.PostForm.Get("version")
	var v *rotor.SecretValue
	err := h.audited(q, auditedOp{source: rotor.AuditSourceSecretsManager, name: "GetSecretValue", readOnly: true,
		params: map[string]string{"secretId": id, "versionId": version}},
		func() (string, string, string, error) {
			var err error
			if v, err = h.cfg.Secrets.GetSecretValue(q.ctx, rotor.GetSecretValueInput{SecretID: id, VersionID: version}); err != nil {
				return "", "", "", err
			}
			return v.ARN, v.Name, v.VersionID, nil
		})
	if err != nil {
		h.failErr(q, err)
		return
	}
	rev := &revealed{VersionID: v.VersionID, Stages: v.Stages}
	switch {
	case v.Value.Binary != nil:
		rev.Binary, rev.Text = true, base64.StdEncoding.EncodeToString(v.Value.Binary)
	case v.Value.String != nil:
		rev.Text = *v.Value.String
		if !utf8.ValidString(rev.Text) { // shown exactly, as bytes
			rev.Binary, rev.Text = true, base64.StdEncoding.EncodeToString([]byte(rev.Text))
		}
	}
	h.showSecret(q, v.ARN, rev, http.StatusOK)
}

// Rotation actions: each is the API's operation, audited as the API
// audits it, then back to the page.

// secretOp runs one of the operations on a secret that return a
// VersionResult, audited as the API's operation name (source
// secretsmanager or rotor).
func (h *Handler) secretOp(q *request, source, name, id string, op func() (*rotor.VersionResult, error)) error {
	return h.audited(q, auditedOp{source: source, name: name, params: map[string]string{"secretId": id}},
		func() (string, string, string, error) {
			out, err := op()
			if err != nil {
				return "", "", "", err
			}
			return out.ARN, out.Name, out.VersionID, nil
		})
}

func (h *Handler) rotate(q *request) {
	id := q.r.PostForm.Get("id")
	err := h.secretOp(q, rotor.AuditSourceSecretsManager, "RotateSecret", id, func() (*rotor.VersionResult, error) {
		return h.cfg.Secrets.RotateSecret(q.ctx, rotor.RotateSecretInput{SecretID: id})
	})
	done := "rotate"
	if rotor.ErrorCode(err) == rotor.ESTATE && strings.Contains(rotor.ErrorMessage(err), "will be reattempted") {
		err, done = nil, "retry" // the failed run is re-driven: what Retry asks for
	}
	h.after(q, id, done, err)
}

func (h *Handler) cancel(q *request) {
	id := q.r.PostForm.Get("id")
	err := h.secretOp(q, rotor.AuditSourceSecretsManager, "CancelRotateSecret", id, func() (*rotor.VersionResult, error) {
		return h.cfg.Secrets.CancelRotateSecret(q.ctx, id)
	})
	h.after(q, id, "cancel", err)
}

func (h *Handler) abandon(q *request) {
	id := q.r.PostForm.Get("id")
	err := h.secretOp(q, rotor.AuditSourceRotor, "AbandonRotation", id, func() (*rotor.VersionResult, error) {
		return h.cfg.Secrets.AbandonRotation(q.ctx, id)
	})
	h.after(q, id, "abandon", err)
}

// after redirects to where the form came from (the secret's page, or the
// needs-attention page when back=attention), or shows err.
func (h *Handler) after(q *request, id, done string, err error) {
	if err != nil {
		h.failErr(q, err)
		return
	}
	to := secretLink(q.region, id) + "&msg=" + done
	if q.r.PostForm.Get("back") == "attention" {
		to = Prefix + "attention?" + url.Values{"region": {q.region}, "msg": {done}}.Encode()
	}
	http.Redirect(q.w, q.r, to, http.StatusSeeOther)
}

// Needs attention.

type attentionData struct {
	Failed, Stuck []attentionRow
	MoreFailed    bool // more failures than the page shows
	StuckAfter    time.Duration
}

type attentionRow struct {
	Run                          rotor.RunRecord
	Name, Link                   string
	CanRetry, CanAbandon, Cancel bool
}

// attentionPage lists the most recent failures (the latest run of their
// secret failed) and the active runs that made no progress for
// StuckAfter: running ones whose last update, pending ones whose due time,
// is that old. Each list is read from indexes (LatestFailedRuns, and
// ListRotationRuns by status: active runs are one per secret at most).
func (h *Handler) attentionPage(q *request) {
	failed, more, err := h.cfg.Secrets.LatestFailedRuns(q.ctx, "", attentionRows)
	if err != nil {
		h.failErr(q, err)
		return
	}
	runs := failed
	for _, status := range []string{rotor.RunRunning, rotor.RunPending} {
		active, err := h.cfg.Secrets.ListRotationRuns(q.ctx, rotor.RunFilter{Status: status, Limit: activeRuns})
		if err != nil {
			h.failErr(q, err)
			return
		}
		runs = append(runs, active...)
	}
	now := h.cfg.Now()
	d := attentionData{StuckAfter: h.cfg.StuckAfter, MoreFailed: more != ""}
	for _, r := range runs {
		if r.Status != rotor.RunFailed && !h.stuck(r, now) {
			continue
		}
		if r.Status != rotor.RunFailed && len(d.Stuck) >= attentionRows {
			break
		}
		row := attentionRow{Run: r, Name: nameOf(r.SecretARN), Link: secretLink(q.region, r.SecretARN)}
		allowed := func(a string) bool { return h.cfg.Secrets.Allowed(q.ctx, a, r.SecretARN) == nil }
		row.CanAbandon = allowed(actAbandon)
		if r.Status == rotor.RunFailed {
			row.CanRetry = allowed(actRotateSecret)
			d.Failed = append(d.Failed, row)
		} else {
			row.Cancel = allowed(actCancelRotate)
			d.Stuck = append(d.Stuck, row)
		}
	}
	h.render(q.w, http.StatusOK, "attention", h.frame(q, "Needs attention", "attention", d))
}

// stuck reports whether an active run has made no progress for
// StuckAfter: running without an update, or pending past its due time.
func (h *Handler) stuck(r rotor.RunRecord, now time.Time) bool {
	return (r.Status == rotor.RunRunning && now.Sub(r.Updated) > h.cfg.StuckAfter) ||
		(r.Status == rotor.RunPending && now.Sub(r.NextAttempt) > h.cfg.StuckAfter)
}

// nameOf is the secret name in an ARN (without the random suffix).
func nameOf(arn string) string {
	if a, ok := rotor.ParseARN(arn); ok {
		name := strings.TrimPrefix(a.Resource, "secret:")
		if i := strings.LastIndexByte(name, '-'); i > 0 && len(name)-i == 7 {
			return name[:i]
		}
		return name
	}
	return arn
}

// Identities and access keys.

type identitiesData struct {
	Identities []rotor.Identity
	Created    *rotor.AccessKey
	CanCreate  bool
	CanUpdate  bool
	CanDelete  bool
}

func (h *Handler) identitiesPage(q *request) {
	h.showIdentities(q, nil)
}

func (h *Handler) showIdentities(q *request, created *rotor.AccessKey) {
	ids, err := h.cfg.Admin.ListIdentities(q.ctx)
	if err != nil {
		h.failErr(q, err)
		return
	}
	allowed := func(a string) bool { return h.cfg.Secrets.Allowed(q.ctx, a, "") == nil }
	d := identitiesData{Identities: ids, Created: created,
		CanCreate: allowed(actCreateKey), CanUpdate: allowed(actUpdateKey), CanDelete: allowed(actDeleteKey)}
	h.render(q.w, http.StatusOK, "identities", h.frame(q, "Identities and access keys", "identities", d))
}

// keyOp runs an operation on access keys, audited as the API's
// rotor.<name>.
func (h *Handler) keyOp(q *request, name string, params map[string]string, op func() error) error {
	return h.audited(q, auditedOp{source: rotor.AuditSourceRotor, name: name, params: params},
		func() (string, string, string, error) { return "", "", "", op() })
}

func (h *Handler) createKey(q *request) {
	identity := q.r.PostForm.Get("identity")
	var k *rotor.AccessKey
	err := h.keyOp(q, "CreateAccessKey", map[string]string{"identity": identity}, func() (err error) {
		k, err = h.cfg.Admin.CreateAccessKey(q.ctx, identity)
		return err
	})
	if err != nil {
		h.failErr(q, err)
		return
	}
	h.showIdentities(q, k)
}

func (h *Handler) keyStatus(q *request) {
	id, status := q.r.PostForm.Get("access_key_id"), q.r.PostForm.Get("status")
	err := h.keyOp(q, "UpdateAccessKey", map[string]string{"accessKeyId": id, "status": status}, func() error {
		return h.cfg.Admin.UpdateAccessKey(q.ctx, id, status)
	})
	h.afterKeys(q, "keystatus", err)
}

func (h *Handler) deleteKey(q *request) {
	id := q.r.PostForm.Get("access_key_id")
	err := h.keyOp(q, "DeleteAccessKey", map[string]string{"accessKeyId": id}, func() error {
		return h.cfg.Admin.DeleteAccessKey(q.ctx, id)
	})
	h.afterKeys(q, "keydelete", err)
}

func (h *Handler) afterKeys(q *request, done string, err error) {
	if err != nil {
		h.failErr(q, err)
		return
	}
	http.Redirect(q.w, q.r, Prefix+"identities?"+url.Values{"region": {q.region}, "msg": {done}}.Encode(), http.StatusSeeOther)
}
