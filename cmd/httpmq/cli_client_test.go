package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cliResult is what one run of a client command printed.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs the httpmq binary with args and stdin, within 60 s.
func cli(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, httpmqBinary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errOut.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	default:
		t.Fatalf("httpmq %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs a client command that must succeed.
func ok(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := cli(t, stdin, args...)
	require.Equal(t, 0, r.code, "httpmq %s:\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
	return r.stdout
}

func jsonOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &v), "%s", s)
	return v
}

// The client commands end to end against the binary: define a stream
// and a consumer, publish 100 messages from stdin, receive and ack them,
// delete everything.
func TestCLIEndToEnd(t *testing.T) {
	p := startHTTPMQ(t, "serve", "--data-dir", t.TempDir(), "--management-addr", "127.0.0.1:0", "--dataplane-addr", "127.0.0.1:0")
	admin, data := "http://"+p.addr(t, "management"), "http://"+p.addr(t, "dataplane")
	urls := []string{"--admin-url", admin, "--data-url", data}
	run := func(stdin string, args ...string) string {
		t.Helper()
		return ok(t, stdin, append(args, urls...)...)
	}

	out := run("", "stream", "add", "ORDERS", "--subjects", "orders.>", "--max-age", "1h", "--description", "all orders")
	assert.Regexp(t, `(?m)^STREAM\s+ORDERS$`, out)
	assert.Regexp(t, `(?m)^subjects\s+orders\.>$`, out)
	assert.Regexp(t, `(?m)^max age\s+1h0m0s$`, out)

	out = run("", "stream", "edit", "ORDERS", "--max-msgs", "5000")
	assert.Regexp(t, `(?m)^max messages\s+5000$`, out)
	assert.Regexp(t, `(?m)^max age\s+1h0m0s$`, out, "edit changes only what is given")

	out = run("", "stream", "ls")
	assert.Regexp(t, `(?m)^STREAM\s+SUBJECTS\s+MESSAGES`, out)
	assert.Regexp(t, `(?m)^ORDERS\s+orders\.>\s+0\s`, out)
	out = run("", "stream", "ls", "--json")
	assert.Contains(t, jsonOf(t, out), "ORDERS")
	assert.Contains(t, out, `"orders.>"`, "JSON as it is, not \\u003e")

	out = run("", "consumer", "add", "ORDERS", "worker", "--mode", "pull", "--ack-wait", "5s", "--max-inflight", "50")
	assert.Regexp(t, `(?m)^CONSUMER\s+worker$`, out)
	assert.Regexp(t, `(?m)^ack wait\s+5s$`, out)
	out = run("", "consumer", "ls", "ORDERS")
	assert.Regexp(t, `(?m)^worker\s+pull\s+-\s+0\s+0\s`, out)

	// 100 messages from stdin, one per line.
	var in strings.Builder
	for i := range 100 {
		fmt.Fprintf(&in, "order %d\n", i)
	}
	out = run(in.String(), "pub", "orders.eu")
	assert.Equal(t, "published 100 messages to orders.eu (stream ORDERS, seq 1-100)\n", out, "quiet: one summary line")
	sum := jsonOf(t, run("", "pub", "orders.us", "one more", "--json", "--rest", "--header", "Trace:abc"))
	assert.Equal(t, map[string]any{"subject": "orders.us", "stream": "ORDERS", "published": 1.0, "first_seq": 101.0, "last_seq": 101.0}, sum)

	info := jsonOf(t, run("", "consumer", "info", "ORDERS", "worker", "--json"))
	assert.EqualValues(t, 101, info["num_pending"])

	// Batches over REST: 25 lines in requests of 10, 10 and 5; a message
	// that fails stops the command after its request, whose other
	// messages are stored and counted.
	run("", "stream", "add", "BATCH", "--subjects", "batch.>")
	var lines25 strings.Builder
	for i := range 25 {
		fmt.Fprintf(&lines25, "batched %d\n", i)
	}
	out = run(lines25.String(), "pub", "batch.b", "--rest", "--batch", "10", "--msg-id", "b")
	assert.Equal(t, "published 25 messages to batch.b (stream BATCH, seq 1-25)\n", out)
	out = run(lines25.String(), "pub", "batch.b", "--rest", "--batch", "10", "--msg-id", "b", "-v", "--count", "2")
	assert.Equal(t, "published 9 bytes to batch.b: stream BATCH sequence 1 (duplicate)\n"+
		"published 9 bytes to batch.b: stream BATCH sequence 2 (duplicate)\n"+
		"published 2 messages to batch.b (stream BATCH, seq 1-2, 2 duplicates)\n", out, "the same ids: duplicates")
	r := cli(t, "", append([]string{"pub", "batch.b", "x", "--rest", "--batch", "3", "--count", "5", "--header", "Nats-Rollup:all"}, urls...)...)
	assert.Equal(t, exitError, r.code)
	assert.Regexp(t, `^httpmq: message 1: reserved_header: `, r.stderr)
	assert.Equal(t, "published 0 messages to batch.b\n", r.stdout)
	r = cli(t, "", append([]string{"pub", "batch.b", "x", "--batch", "3"}, urls...)...)
	assert.Equal(t, exitUsage, r.code, "--batch needs --rest")
	assert.EqualValues(t, 25, jsonOf(t, run("", "stream", "info", "BATCH", "--json"))["state"].(map[string]any)["messages"])

	// Receive and ack them all, as JSON lines.
	out = run("", "sub", "ORDERS", "worker", "--count", "101", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 101)
	for i, l := range lines[:100] {
		m := jsonOf(t, l)
		assert.Equal(t, fmt.Sprintf("order %d", i), m["data"])
		assert.Equal(t, "orders.eu", m["subject"])
	}
	last := jsonOf(t, lines[100])
	assert.Equal(t, "one more", last["data"])
	assert.Equal(t, map[string]any{"Trace": []any{"abc"}}, last["headers"])

	info = jsonOf(t, run("", "consumer", "info", "ORDERS", "worker", "--json"))
	assert.EqualValues(t, 0, info["num_pending"])
	assert.EqualValues(t, 0, info["num_ack_pending"], "every message was acked")
	assert.EqualValues(t, 101, info["ack_floor"].(map[string]any)["stream_seq"])

	// --no-ack leaves the message unacknowledged; the table form prints it.
	out = run("", "pub", "orders.eu", "unacked", "-v")
	assert.Equal(t, "published 7 bytes to orders.eu: stream ORDERS sequence 102\n"+
		"published 1 message to orders.eu (stream ORDERS, seq 102)\n", out, "-v: a line per message, then the summary")
	out = run("", "sub", "ORDERS", "worker", "--count", "1", "--no-ack", "--rest")
	assert.Contains(t, out, "[#102] orders.eu\nunacked\n")
	info = jsonOf(t, run("", "consumer", "info", "ORDERS", "worker", "--json"))
	assert.EqualValues(t, 1, info["num_ack_pending"])

	// Live: the last two messages of a subject, no consumer, nothing acked.
	out = run("", "sub", "--subject", "orders.*", "--last", "2", "--count", "2", "--json")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	assert.EqualValues(t, 101, jsonOf(t, lines[0])["stream_seq"])
	assert.Equal(t, "unacked", jsonOf(t, lines[1])["data"])
	r = cli(t, "", append([]string{"sub", "--subject", "orders.*", "ORDERS"}, urls...)...)
	assert.Equal(t, exitUsage, r.code, "a subject or a consumer, not both")

	// Deleting asks first; a script (stdin not a terminal) must say -f.
	r = cli(t, "", append([]string{"consumer", "rm", "ORDERS", "worker"}, urls...)...)
	assert.Equal(t, exitUsage, r.code)
	assert.Equal(t, "httpmq: not going to delete consumer worker of stream ORDERS without confirmation: "+
		"standard input is not a terminal, so httpmq cannot ask; add -f (--force) to do it\n", r.stderr)
	out = run("", "consumer", "rm", "ORDERS", "worker", "-f")
	assert.Equal(t, "consumer worker of stream ORDERS deleted\n", out)
	out = run("", "stream", "rm", "--force", "ORDERS")
	assert.Equal(t, "stream ORDERS deleted\n", out)

	// Failures: the server's code on stderr, once, exit status 1.
	r = cli(t, "", append([]string{"stream", "info", "ORDERS"}, urls...)...)
	assert.Equal(t, exitError, r.code)
	assert.Regexp(t, `^httpmq: stream_not_found: `, r.stderr)
	assert.NotContains(t, r.stderr, "httpmq: httpmq:")
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %s", r.stderr)
	p.stop(t)
}

func TestCLIUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"stream", "add"}, exitUsage, "usage: httpmq stream add [flags] NAME"},
		{[]string{"consumer", "info", "S"}, exitUsage, "usage: httpmq consumer info [flags] STREAM NAME"},
		{[]string{"pub", "a", "b", "c"}, exitUsage, "usage: httpmq pub"},
		{[]string{"pub", "x", "--header", "nocolon", "y"}, exitUsage, "want Name:value"},
		{[]string{"stream", "frobnicate"}, exitUsage, "unknown command"},
		{[]string{"stream", "ls", "--admin-url", "http://127.0.0.1:1"}, exitError, "connection refused"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			a := &app{stdout: &out, stderr: &errOut, stdin: strings.NewReader("")}
			code := a.main(t.Context(), tc.args)
			assert.Equal(t, tc.code, code, "stderr: %s", errOut.String())
			assert.Contains(t, errOut.String(), tc.want)
		})
	}
}

func TestCLIHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	a := &app{stdout: &out, stderr: &errOut}
	require.Equal(t, exitOK, a.main(t.Context(), []string{"sub", "--help"}))
	assert.Contains(t, out.String(), "--no-ack")
	assert.Contains(t, out.String(), "HTTPMQ_DATA_URL, default http://127.0.0.1:3001")
	out.Reset()
	require.Equal(t, exitOK, a.main(t.Context(), []string{"--help"}))
	for _, c := range []string{"stream", "consumer", "pub", "sub"} {
		assert.Regexp(t, `(?m)^\s+`+c+`\s`, out.String())
	}
}
