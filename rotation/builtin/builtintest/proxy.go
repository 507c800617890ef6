package builtintest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// ProxyTLS makes a Proxy terminate TLS before forwarding in plaintext.
type ProxyTLS struct {
	Config *tls.Config // the server side: certificate
	// Postgres makes the proxy answer PostgreSQL's SSLRequest with 'S'
	// before the handshake, as a PostgreSQL server with TLS does; otherwise
	// TLS starts with the first byte (Redis).
	Postgres bool
}

// Proxy is a TCP proxy to a test service that a test can cut (every
// connection, open or new, is closed at once) and restore, to make the
// target unreachable in the middle of a rotation without touching the
// shared server.
type Proxy struct {
	t      testing.TB
	target string
	ln     net.Listener
	tls    *ProxyTLS

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

// NewProxy listens on 127.0.0.1 on a free port and forwards to target
// (host:port); tlsOpt, when not nil, makes it a TLS endpoint. It stops
// when the test ends.
func NewProxy(t testing.TB, target string, tlsOpt *ProxyTLS) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{t: t, target: target, ln: ln, tls: tlsOpt, conns: map[net.Conn]struct{}{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
		wg.Wait()
	})
	return p
}

// Host is the proxy's host, "127.0.0.1".
func (p *Proxy) Host() string { return "127.0.0.1" }

// Port is the proxy's port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Addr is host:port.
func (p *Proxy) Addr() string { return net.JoinHostPort(p.Host(), strconv.Itoa(p.Port())) }

// Cut closes every open connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Restore lets connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// track registers c unless the proxy is cut.
func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) serve(client net.Conn) {
	defer client.Close()
	if !p.track(client) {
		return
	}
	var down net.Conn = client
	if p.tls != nil {
		client.SetDeadline(time.Now().Add(10 * time.Second))
		if p.tls.Postgres {
			var req [8]byte
			if _, err := io.ReadFull(client, req[:]); err != nil {
				return
			}
			if binary.BigEndian.Uint32(req[4:]) != 80877103 { // SSLRequest
				return
			}
			if _, err := client.Write([]byte{'S'}); err != nil {
				return
			}
		}
		tc := tls.Server(client, p.tls.Config)
		if err := tc.Handshake(); err != nil {
			return
		}
		client.SetDeadline(time.Time{})
		down = tc
	}
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	if !p.track(up) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, down); done <- struct{}{} }()
	go func() { io.Copy(down, up); done <- struct{}{} }()
	<-done
}

// NewCA makes a certificate authority and a server certificate it signed
// for 127.0.0.1 and localhost. It returns the authority's certificate in
// PEM (for the "rotor:ssl_ca" key) and the server's TLS configuration.
func NewCA(t testing.TB) (caPEM string, server *tls.Config) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rotor test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	return caPEM, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
}
