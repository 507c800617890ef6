package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"
	"github.com/rotorhq/rotor/bench/internal/awsreq"
)

// signedReq is one request signed ahead of the measured phase: its
// headers, Authorization included, and its body.
type signedReq struct {
	header http.Header
	body   []byte
}

// presignWrites signs, for each of clients clients, pairs CreateSecret +
// PutSecretValue requests (two writes each), as the SDK would send them: a
// ClientRequestToken of its own on each, 64-byte values. Signatures stay
// valid for 15 minutes, so this is done before the phase, as
// bench/getsecret does for its reads, and the load generator's CPU per
// write is a small constant instead of the SDK's serialisation, retry and
// signing middleware.
func presignWrites(url string, creds aws.Credentials, run string, round, clients, pairs int) ([][]signedReq, error) {
	ctx := context.Background()
	now := time.Now()
	sign := func(target string, in any) (signedReq, error) {
		body, err := json.Marshal(in)
		if err != nil {
			return signedReq{}, err
		}
		req, err := awsreq.Signed(ctx, url, "secretsmanager."+target, body, creds, "secretsmanager", "us-east-1", now)
		if err != nil {
			return signedReq{}, err
		}
		return signedReq{header: req.Header, body: body}, nil
	}
	out := make([][]signedReq, clients)
	for c := range out {
		out[c] = make([]signedReq, 0, 2*pairs)
		for i := range pairs {
			name := fmt.Sprintf("bench/%s/r%d/c%d/s%d", run, round, c, i)
			create, err := sign("CreateSecret", map[string]string{"Name": name,
				"SecretString": strings.Repeat("a", 64), "ClientRequestToken": uuid.NewString()})
			if err != nil {
				return nil, err
			}
			put, err := sign("PutSecretValue", map[string]string{"SecretId": name,
				"SecretString": strings.Repeat("b", 64), "ClientRequestToken": uuid.NewString()})
			if err != nil {
				return nil, err
			}
			out[c] = append(out[c], create, put)
		}
	}
	return out, nil
}

// presignedLoad sends each client's requests in order, one at a time, for
// d, and counts the acknowledged writes. A client that runs out of
// requests before d ends fails the phase: more were needed than signed.
func presignedLoad(url string, reqs [][]signedReq, d time.Duration) (apiResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: len(reqs), MaxConnsPerHost: len(reqs), DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var (
		n        atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	stop := time.Now().Add(d)
	t0 := time.Now()
	for _, mine := range reqs {
		wg.Go(func() {
			local := make([]time.Duration, 0, len(mine))
			defer func() { mu.Lock(); lat = append(lat, local...); mu.Unlock() }()
			for i, sr := range mine {
				if !time.Now().Before(stop) {
					return
				}
				if i == len(mine)-1 {
					firstErr.CompareAndSwap(nil, fmt.Errorf("a client sent all %d requests signed for it before the phase ended; sign more", len(mine)))
				}
				req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(sr.body))
				req.Header = sr.header.Clone()
				t := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					var data []byte
					data, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s answered %d: %s", sr.header.Get("X-Amz-Target"), resp.StatusCode, data)
					}
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				local = append(local, time.Since(t))
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return summarize(n.Load(), lat, time.Since(t0), &firstErr)
}
