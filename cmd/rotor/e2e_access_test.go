package main

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// e2eWaitAccessed waits until DescribeSecret shows a LastAccessedDate for
// name: the server writes access dates in batches at most 1 s after the
// read (manager.DefaultAccessFlushInterval). The 10 s deadline only keeps
// a broken server from hanging the test.
func e2eWaitAccessed(t *testing.T, c *secretsmanager.Client, name string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		e2eNoErr(t, "DescribeSecret", err)
		if d.LastAccessedDate != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: LastAccessedDate still absent 10 s after a read", name)
		}
	}
}
