package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startTimeout bounds how long httpmq may take to start listening (the
// race detector makes the embedded server slower to start).
const startTimeout = 60 * time.Second

// process is a running httpmq binary whose stderr (JSON log lines) is
// collected.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done is closed

	mu    sync.Mutex
	lines []map[string]any // parsed log lines
	raw   strings.Builder  // everything on stderr, for failure messages
}

// startHTTPMQ runs the binary with args plus --log-json and stops it (by
// SIGKILL, if still running) when the test ends.
func startHTTPMQ(t *testing.T, args ...string) *process {
	t.Helper()
	return startHTTPMQEnv(t, nil, args...)
}

// startHTTPMQEnv is startHTTPMQ with env added to the environment.
func startHTTPMQEnv(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(httpmqBinary(t), append(args, "--log-json")...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	p := &process{cmd: cmd, done: make(chan struct{})}
	require.NoError(t, cmd.Start())
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		p.readLogs(stderr)
	}()
	go func() {
		<-logsDone // Wait closes the pipe: read everything first
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("httpmq %s stderr:\n%s", strings.Join(args, " "), p.stderr())
		}
	})
	return p
}

func (p *process) readLogs(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line map[string]any
		_ = json.Unmarshal(sc.Bytes(), &line) // non-JSON lines are kept raw only
		p.mu.Lock()
		p.raw.Write(sc.Bytes())
		p.raw.WriteByte('\n')
		if line != nil {
			p.lines = append(p.lines, line)
		}
		p.mu.Unlock()
	}
}

func (p *process) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// logLines returns the log lines parsed so far.
func (p *process) logLines() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string]any(nil), p.lines...)
}

// findLog returns the first log line with msg and the given attributes.
func (p *process) findLog(msg string, attrs ...string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
next:
	for _, l := range p.lines {
		if l["msg"] != msg {
			continue
		}
		for i := 0; i+1 < len(attrs); i += 2 {
			if fmt.Sprint(l[attrs[i]]) != attrs[i+1] {
				continue next
			}
		}
		return l
	}
	return nil
}

// addr waits for the "listening" line of api and returns its address.
func (p *process) addr(t *testing.T, api string) string {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if l := p.findLog("listening", "api", api); l != nil {
			return l["addr"].(string)
		}
		select {
		case <-p.done:
			t.Fatalf("httpmq exited before listening (%v):\n%s", p.err, p.stderr())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no listening log line for %s within %s:\n%s", api, startTimeout, p.stderr())
	return ""
}

// stop sends SIGTERM and requires a clean exit (status 0) within a bound.
func (p *process) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	p.wait(t, 0)
}

// wait requires the process to exit with code within 30 s.
func (p *process) wait(t *testing.T, code int) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("httpmq did not exit within 30s:\n%s", p.stderr())
	}
	var exitErr *exec.ExitError
	switch {
	case p.err == nil:
		require.Equal(t, 0, code, "exit status:\n%s", p.stderr())
	case errors.As(p.err, &exitErr):
		require.Equal(t, code, exitErr.ExitCode(), "exit status:\n%s", p.stderr())
	default:
		t.Fatal(p.err)
	}
}
