package serverproc

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// The debug listener (--debug-listen) of a rotor server serves its
// Prometheus metrics at /metrics; these read them.

// Scrape returns the values of the unlabelled metrics names from the
// /metrics of the debug listener at base, in order; ok is false unless
// every one was read.
func Scrape(base string, names ...string) (values []float64, ok bool) {
	values = make([]float64, len(names))
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return values, false
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return values, false
	}
	found := 0
	for _, line := range strings.Split(string(data), "\n") {
		for i, name := range names {
			if rest, ok := strings.CutPrefix(line, name+" "); ok {
				if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
					values[i] = v
					found++
				}
			}
		}
	}
	return values, found == len(names)
}

// FreeLoopbackAddr returns a loopback address with a port free right now.
func FreeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
