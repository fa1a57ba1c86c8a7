package main

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/httpmq/httpmq/internal/auth"
)

// runCLI runs a command line in-process with stdin, as if stdin were a
// terminal when interactive.
func runCLI(t *testing.T, stdin string, interactive bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{stdout: &out, stderr: &errOut, stdin: strings.NewReader(stdin), interactive: interactive}
	code = a.main(t.Context(), args)
	return code, out.String(), errOut.String()
}

// TestCLIRemoveAsks: on a terminal, rm asks and deletes only on yes.
func TestCLIRemoveAsks(t *testing.T) {
	p := startHTTPMQ(t, "management", "--data-dir", t.TempDir(), "--management-addr", "127.0.0.1:0")
	admin := "http://" + p.addr(t, "management")
	code, _, stderr := runCLI(t, "", false, "stream", "add", "S", "--admin-url", admin)
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = runCLI(t, "", false, "consumer", "add", "S", "c", "--admin-url", admin)
	require.Equal(t, exitOK, code, stderr)

	for _, tc := range []struct {
		args   []string
		answer string
		code   int
		ask    string
	}{
		{[]string{"consumer", "rm", "S", "c"}, "\n", exitError, "Delete consumer c of stream S? [y/N] "},
		{[]string{"stream", "rm", "S"}, "no\n", exitError, "Delete stream S with all its messages and consumers? [y/N] "},
		{[]string{"consumer", "rm", "S", "c"}, "y\n", exitOK, "Delete consumer c of stream S? [y/N] "},
		{[]string{"stream", "rm", "S"}, "YES\n", exitOK, "Delete stream S with all its messages and consumers? [y/N] "},
	} {
		code, stdout, stderr := runCLI(t, tc.answer, true, append(tc.args, "--admin-url", admin)...)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, stderr)
		assert.True(t, strings.HasPrefix(stderr, tc.ask), "%v asks: %q", tc.args, stderr)
		if tc.code == exitOK {
			assert.Contains(t, stdout, "deleted")
		} else {
			assert.Contains(t, stderr, "not confirmed; nothing deleted")
			assert.Empty(t, stdout)
		}
	}
	code, _, stderr = runCLI(t, "", false, "stream", "info", "S", "--admin-url", admin)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "stream_not_found", "deleted once confirmed")
	p.stop(t)
}

// TestCLISecuredServer: the client commands reach an httpmq that serves
// HTTPS with authentication: --ca-file verifies it, --token (or
// HTTPMQ_TOKEN) authenticates, and a client certificate (--cert, --key)
// does on the management API.
func TestCLISecuredServer(t *testing.T) {
	cert, key := selfSigned(t)
	p := startHTTPMQ(t, "serve", "--data-dir", t.TempDir(), "--management-addr", "127.0.0.1:0", "--dataplane-addr", "127.0.0.1:0",
		"--tls-cert", cert, "--tls-key", key, "--admin-client-ca", cert,
		"--api-key", "ops "+auth.HashAPIKey("hmq_ops")+" admin=full publish=s.> subscribe=S/c")
	urls := []string{"--admin-url", "https://" + p.addr(t, "management"), "--data-url", "https://" + p.addr(t, "dataplane")}
	with := func(extra ...string) []string { return append(append([]string(nil), urls...), extra...) }

	code, _, stderr := runCLI(t, "", false, append([]string{"stream", "ls"}, with()...)...)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "certificate", "not verified without --ca-file: %s", stderr)

	code, _, stderr = runCLI(t, "", false, append([]string{"stream", "ls"}, with("--ca-file", cert)...)...)
	assert.Equal(t, exitError, code)
	assert.Regexp(t, `^httpmq: unauthorized`, stderr)

	code, stdout, stderr := runCLI(t, "", false, append([]string{"stream", "add", "S", "--subjects", "s.>"}, with("--ca-file", cert, "--token", "hmq_ops")...)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "S")

	// A client certificate: full admin rights on the management API.
	code, _, stderr = runCLI(t, "", false, append([]string{"consumer", "add", "S", "c"}, with("--ca-file", cert, "--cert", cert, "--key", key)...)...)
	require.Equal(t, exitOK, code, stderr)

	// The token from the environment, over a session (wss) and REST.
	t.Setenv("HTTPMQ_TOKEN", "hmq_ops")
	code, stdout, stderr = runCLI(t, "", false, append([]string{"pub", "s.a", "hello"}, with("--ca-file", cert)...)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "published 1 message to s.a (stream S, seq 1)\n", stdout)
	code, stdout, stderr = runCLI(t, "", false, append([]string{"sub", "S", "c", "--count", "1", "--rest"}, with("--ca-file", cert)...)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "hello")

	code, _, stderr = runCLI(t, "", false, append([]string{"stream", "ls"}, with("--cert", cert)...)...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--cert and --key go together")
	p.stop(t)
}

func TestCLIVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		code, stdout, _ := runCLI(t, "", false, args...)
		assert.Equal(t, exitOK, code)
		assert.Regexp(t, `^httpmq \S.* \(go1\.\d+`, stdout, args)
	}
}

// TestCLIHelpDefaults: no flag of any command shows two defaults (its
// own text's and the flag package's), so no help contradicts itself.
func TestCLIHelpDefaults(t *testing.T) {
	var commands [][]string
	for _, n := range completionTree((&app{}).rootCommand()) {
		commands = append(commands, strings.FieldsFunc(n.path, func(r rune) bool { return r == '/' }))
	}
	require.Greater(t, len(commands), 15)
	entry := regexp.MustCompile(`(?m)^  (-\S.*)\n      (.*)\n      \[(.*)\]$`)
	for _, cmd := range commands {
		code, stdout, _ := runCLI(t, "", false, append(cmd, "--help")...)
		require.Equal(t, exitOK, code, cmd)
		for _, m := range entry.FindAllStringSubmatch(stdout, -1) {
			assert.LessOrEqual(t, strings.Count(m[2]+m[3], "default"), 1, "httpmq %s: %s", strings.Join(cmd, " "), m[0])
		}
	}
	_, stdout, _ := runCLI(t, "", false, "consumer", "add", "--help")
	assert.Contains(t, stdout, "most unacknowledged messages (default 1000)\n      [HTTPMQ_MAX_INFLIGHT]")
}

// TestCLICompletion: the bash script completes commands, subcommands
// and flags from the binary's own tree; zsh and fish scripts are made
// from the same tree.
func TestCLICompletion(t *testing.T) {
	code, script, stderr := runCLI(t, "", false, "completion", "bash")
	require.Equal(t, exitOK, code, stderr)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	file := writeFile(t, "httpmq.bash", script)
	for line, want := range map[string]string{
		"httpmq st":                  "stream",
		"httpmq stream ":             "ls add info edit rm --help",
		"httpmq stream add X --sub":  "--subjects",
		"httpmq consumer rm S c --f": "--force",
		"httpmq completion ":         "--help",
		"httpmq pub -":               "--admin-url --batch --ca-file --cert --count --data-url --header --json --key --msg-id --rest --timeout --token --verbose -v --help",
	} {
		cmd := exec.Command(bash, "-c", `source "$1"; read -ra COMP_WORDS <<< "$2"; [[ $2 == *" " ]] && COMP_WORDS+=(""); `+
			`COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _httpmq; echo "${COMPREPLY[*]}"`, "bash", file, line)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Equal(t, want, strings.TrimSpace(string(out)), "completing %q", line)
	}

	code, zsh, _ := runCLI(t, "", false, "completion", "zsh")
	require.Equal(t, exitOK, code)
	assert.Contains(t, zsh, "bashcompinit")
	assert.Contains(t, zsh, "complete -F _httpmq httpmq")
	code, fish, _ := runCLI(t, "", false, "completion", "fish")
	require.Equal(t, exitOK, code)
	assert.Contains(t, fish, `complete -c httpmq -n '__httpmq_at httpmq/stream' -a 'add' -d 'define a stream'`)
	assert.Contains(t, fish, `complete -c httpmq -n '__httpmq_at httpmq/serve' -l 'tls-cert' -F`)
	for shell, script := range map[string]string{"zsh": zsh, "fish": fish} {
		if bin, err := exec.LookPath(shell); err == nil {
			flag := "-n"
			if shell == "fish" {
				flag = "--no-execute"
			}
			out, err := exec.Command(bin, flag, writeFile(t, "httpmq."+shell, script)).CombinedOutput()
			assert.NoError(t, err, "%s: %s", shell, out)
		}
	}
	code, _, stderr = runCLI(t, "", false, "completion", "tcsh")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "bash, zsh or fish")
}
