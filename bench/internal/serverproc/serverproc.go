// Package serverproc starts server processes for the benchmark programs:
// a child that prints the URL it serves on, stopped with SIGINT, and the
// shared-credentials file a rotor server writes at first start.
package serverproc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// Child is a started server process and the URL it printed.
type Child struct {
	Cmd *exec.Cmd
	URL string
}

var urlRE = regexp.MustCompile(`at (https?://[0-9.:]+)`)

// Start starts cmd (its stderr discarded) and waits up to a minute for it
// to print "... at http://host:port" on stdout; the process is killed when
// it does not.
func Start(cmd *exec.Cmd) (*Child, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() { // read to the end so the child never blocks on stdout
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	select {
	case u := <-found:
		return &Child{Cmd: cmd, URL: u}, nil
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		return nil, fmt.Errorf("%s did not print its URL", cmd.Path)
	}
}

// PID is the process id of c.
func (c *Child) PID() int { return c.Cmd.Process.Pid }

// Stop interrupts c and waits for it to exit, killing it after 15 seconds.
func (c *Child) Stop() {
	c.Cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { c.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		c.Cmd.Process.Kill()
	}
}

// ReadCredentials returns the access key in the AWS shared-credentials file
// at path (the one rotor writes at first start).
func ReadCredentials(path string) (id, secret string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			id = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if id == "" || secret == "" {
		return "", "", fmt.Errorf("no key in %s", path)
	}
	return id, secret, nil
}
