package main

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parse runs the command line with a serve function that only records
// what it was given.
func parse(t *testing.T, args ...string) (cfg *Config, m mode, code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{stdout: &out, stderr: &errOut, serve: func(_ context.Context, c *Config, md mode, _ *slog.Logger) error {
		cfg, m = c, md
		return nil
	}}
	code = a.main(t.Context(), args)
	return cfg, m, code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestConfigDefaults(t *testing.T) {
	cfg, m, code, _, stderr := parse(t, "serve")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, modeServe, m)
	assert.Equal(t, slog.LevelInfo, cfg.LogLevel.Level())
	assert.False(t, cfg.LogJSON)
	assert.Equal(t, "127.0.0.1:3000", cfg.ManagementAddr)
	assert.Equal(t, "127.0.0.1:3001", cfg.DataplaneAddr)
	assert.Equal(t, "./data", cfg.DataDir)
	assert.Empty(t, cfg.NATSURLs)
	assert.Equal(t, 5*time.Second, cfg.RequestTimeout)
	assert.Equal(t, 10*time.Second, cfg.ShutdownTimeout)
	assert.Equal(t, byteSize(2<<20), cfg.MaxBody)
	assert.False(t, cfg.InsecureListen)
}

func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "httpmq.conf", `
# a comment
log-level warn
management-addr 127.0.0.1:4000   # trailing comment
dataplane-addr 127.0.0.1:4001
request-timeout 7s
nats-url nats://file:4222
log-json
`)
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(t *testing.T, cfg *Config)
	}{
		{
			name: "file only",
			args: []string{"serve", "--config", file},
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, slog.LevelWarn, cfg.LogLevel.Level())
				assert.Equal(t, "127.0.0.1:4000", cfg.ManagementAddr)
				assert.Equal(t, 7*time.Second, cfg.RequestTimeout)
				assert.Equal(t, stringList{"nats://file:4222"}, cfg.NATSURLs)
				assert.True(t, cfg.LogJSON, "a name alone in the file means true")
			},
		},
		{
			name: "env beats file",
			env:  map[string]string{"HTTPMQ_LOG_LEVEL": "error", "HTTPMQ_NATS_URL": "nats://a:4222,nats://b:4222"},
			args: []string{"serve", "--config", file},
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, slog.LevelError, cfg.LogLevel.Level())
				assert.Equal(t, stringList{"nats://a:4222", "nats://b:4222"}, cfg.NATSURLs)
				assert.Equal(t, "127.0.0.1:4000", cfg.ManagementAddr, "still from the file")
			},
		},
		{
			name: "flags beat env",
			env:  map[string]string{"HTTPMQ_LOG_LEVEL": "error", "HTTPMQ_MANAGEMENT_ADDR": "127.0.0.1:5000"},
			args: []string{"serve", "--config", file, "-l", "debug", "--nats-url", "nats://x:1", "--nats-url", "nats://y:2"},
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, slog.LevelDebug, cfg.LogLevel.Level())
				assert.Equal(t, "127.0.0.1:5000", cfg.ManagementAddr)
				assert.Equal(t, "127.0.0.1:4001", cfg.DataplaneAddr)
				assert.Equal(t, stringList{"nats://x:1", "nats://y:2"}, cfg.NATSURLs)
			},
		},
		{
			name: "short flag beats env of its long name",
			env:  map[string]string{"HTTPMQ_LOG_LEVEL": "error"},
			args: []string{"serve", "-l=debug"},
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, slog.LevelDebug, cfg.LogLevel.Level())
			},
		},
		{
			name: "config file named by env",
			env:  map[string]string{"HTTPMQ_CONFIG": file},
			args: []string{"management"},
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, "127.0.0.1:4000", cfg.ManagementAddr)
				assert.Equal(t, slog.LevelWarn, cfg.LogLevel.Level())
			},
		},
		{
			name: "flags before the command, as in the original httpmq",
			args: []string{"-l", "debug", "--log-json", "dataplane", "--dataplane-addr", "127.0.0.1:0"},
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, slog.LevelDebug, cfg.LogLevel.Level())
				assert.True(t, cfg.LogJSON)
				assert.Equal(t, "127.0.0.1:0", cfg.DataplaneAddr)
			},
		},
		{
			name: "sizes with units",
			args: []string{"management", "--max-body", "512KiB"},
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, byteSize(512<<10), cfg.MaxBody)
			},
		},
		{
			name: "non-loopback with --insecure-listen",
			args: []string{"serve", "--management-addr", ":3000", "--dataplane-addr", "0.0.0.0:3001", "--insecure-listen"},
			check: func(t *testing.T, cfg *Config) {
				assert.True(t, cfg.InsecureListen)
				assert.Equal(t, ":3000", cfg.ManagementAddr)
			},
		},
		{
			name: "ipv6 loopback and localhost",
			args: []string{"serve", "--management-addr", "[::1]:3000", "--dataplane-addr", "localhost:3001"},
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, "[::1]:3000", cfg.ManagementAddr)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, _, code, _, stderr := parse(t, tt.args...)
			require.Equal(t, exitOK, code, stderr)
			tt.check(t, cfg)
		})
	}
}

func TestConfigErrors(t *testing.T) {
	badFile := writeFile(t, "bad.conf", "log-levl debug\n")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string // substrings of stderr
	}{
		{"bad log level flag", nil, []string{"serve", "--log-level", "loud"}, []string{"log-level", `"loud"`}},
		{"bad log level env", map[string]string{"HTTPMQ_LOG_LEVEL": "loud"}, []string{"serve"}, []string{"log-level", "HTTPMQ_LOG_LEVEL", `"loud"`}},
		{"bad duration", nil, []string{"serve", "--request-timeout", "soon"}, []string{"request-timeout"}},
		{"zero duration", nil, []string{"serve", "--shutdown-timeout", "0s"}, []string{"--shutdown-timeout must be positive"}},
		{"bad size", nil, []string{"serve", "--max-body", "lots"}, []string{"max-body", `"lots"`}},
		{"unknown flag", nil, []string{"serve", "--nats-urls", "x"}, []string{"nats-urls"}},
		{"unknown option in file", nil, []string{"serve", "--config", badFile}, []string{`unknown option "log-levl"`}},
		{"missing config file", nil, []string{"serve", "--config", "/nonexistent/httpmq.conf"}, []string{"/nonexistent/httpmq.conf"}},
		{"non-loopback", nil, []string{"serve", "--management-addr", "0.0.0.0:3000"}, []string{"--management-addr", "not a loopback address", "--insecure-listen"}},
		{"all interfaces", nil, []string{"dataplane", "--dataplane-addr", ":3001"}, []string{"--dataplane-addr", "not a loopback address"}},
		{"embedded listen non-loopback", nil, []string{"serve", "--nats-embedded-listen", "0.0.0.0:4222"}, []string{"--nats-embedded-listen"}},
		{"bad address", nil, []string{"serve", "--management-addr", "3000"}, []string{"--management-addr", "3000"}},
		{"tls cert without key", nil, []string{"serve", "--tls-cert", "c.pem"}, []string{"--tls-cert and --tls-key"}},
		{"password without user", nil, []string{"serve", "--nats-url", "nats://x", "--nats-password", "p"}, []string{"--nats-password needs --nats-user"}},
		{"embedded listen with url", nil, []string{"serve", "--nats-url", "nats://x", "--nats-embedded-listen", "127.0.0.1:4222"}, []string{"--nats-embedded-listen"}},
		{"arguments", nil, []string{"serve", "extra"}, []string{"takes no arguments"}},
		{"unknown command", nil, []string{"launch"}, []string{`unknown command "launch"`}},
		{"option of another mode as a flag", nil, []string{"management", "--dataplane-addr", "127.0.0.1:1"}, []string{"dataplane-addr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, _, code, _, stderr := parse(t, tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Nil(t, cfg, "must not run")
			for _, w := range tt.want {
				assert.Contains(t, stderr, w)
			}
		})
	}
}

func TestConfigFileSharedByModes(t *testing.T) {
	// One file for every run mode: management ignores dataplane-addr.
	file := writeFile(t, "all.conf", "dataplane-addr 127.0.0.1:4001\nmanagement-addr 127.0.0.1:4000\n")
	cfg, m, code, _, stderr := parse(t, "management", "--config", file)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, modeManagement, m)
	assert.Equal(t, "127.0.0.1:4000", cfg.ManagementAddr)
}

func TestExampleConfigParses(t *testing.T) {
	cfg, _, code, _, stderr := parse(t, "serve", "--config", "../../testdata/config/example.conf")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, defaultConfig().ManagementAddr, cfg.ManagementAddr)
}

func TestHelpMentionsEveryFlag(t *testing.T) {
	for _, m := range []mode{modeServe, modeManagement, modeDataplane} {
		t.Run(m.name, func(t *testing.T) {
			_, _, code, stdout, _ := parse(t, m.name, "--help")
			require.Equal(t, exitOK, code)
			fs := flag.NewFlagSet("", flag.ContinueOnError)
			defaultConfig().register(fs, m)
			fs.VisitAll(func(f *flag.Flag) {
				assert.Contains(t, stdout, "--"+f.Name, "flag")
				assert.Contains(t, stdout, envVar(f.Name), "env var")
			})
			assert.Contains(t, stdout, "-l, --log-level")
			assert.Contains(t, stdout, "default 10s", "defaults are shown")
		})
	}
	_, _, code, stdout, _ := parse(t, "--help")
	require.Equal(t, exitOK, code)
	for _, cmd := range []string{"serve", "management", "dataplane", "version"} {
		assert.Contains(t, stdout, cmd)
	}

	_, _, code, _, stderr := parse(t)
	assert.Equal(t, exitUsage, code, "no command")
	assert.Contains(t, stderr, "COMMANDS")
}

func TestHelpDoesNotShowSecrets(t *testing.T) {
	t.Setenv("HTTPMQ_NATS_PASSWORD", "hunter2")
	_, _, code, stdout, _ := parse(t, "serve", "--help")
	require.Equal(t, exitOK, code)
	assert.NotContains(t, stdout, "hunter2")
}

func TestLogAttrsRedactSecrets(t *testing.T) {
	cfg, _, code, _, stderr := parse(t, "serve", "--nats-url", "nats://x,nats://bob:pw123@y:4222", "--nats-user", "u", "--nats-password", "hunter2", "--nats-token", "s3cret")
	require.Equal(t, exitOK, code, stderr)
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("configuration", cfg.logAttrs(modeServe)...)
	assert.NotContains(t, buf.String(), "hunter2")
	assert.NotContains(t, buf.String(), "s3cret")
	assert.NotContains(t, buf.String(), "pw123")
	assert.NotContains(t, buf.String(), "bob")
	assert.Contains(t, buf.String(), "nats://x,nats://REDACTED@y:4222")
	assert.Contains(t, buf.String(), "nats-password=REDACTED")
	assert.Contains(t, buf.String(), "nats-user=u")
}

func TestVersion(t *testing.T) {
	_, _, code, stdout, _ := parse(t, "version")
	require.Equal(t, exitOK, code)
	assert.True(t, strings.HasPrefix(stdout, "httpmq "), stdout)
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "1KiB": 1024, "2MiB": 2 << 20, "1 GiB": 1 << 30, "10B": 10} {
		var b byteSize
		require.NoError(t, b.Set(in), in)
		assert.Equal(t, want, int64(b), in)
	}
	for _, in := range []string{"", "-1", "1KB", "MiB", "1.5MiB"} {
		var b byteSize
		assert.Error(t, b.Set(in), in)
	}
	b := byteSize(2 << 20)
	assert.Equal(t, "2MiB", b.String())
}

// TestExampleConfigListsEveryOption keeps testdata/config/example.conf
// complete: every option of serve appears in it, set or commented out.
func TestExampleConfigListsEveryOption(t *testing.T) {
	b, err := os.ReadFile("../../testdata/config/example.conf")
	require.NoError(t, err)
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	defaultConfig().register(fs, modeServe)
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		assert.Regexp(t, `(?m)^#? ?`+regexp.QuoteMeta(f.Name)+` `, string(b), "option %s", f.Name)
	})
}
