package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The packaging files (Dockerfile, deploy/) are checked here: no Docker
// engine runs where the tests do, so the image is not built. Instead
// docker-compose validates the compose file, systemd-analyze the unit,
// and these tests what the files say to httpmq: every option they set
// exists, every command they run exists, the image is built and run as
// the project means it to be. `make test-deps` installs the validators.

// validator returns the path of a validation tool, skipping the test
// without it, except in CI, where `make test-deps` installs it.
func validator(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; make test-deps installs it (apt-get install %s)", name, pkg)
		}
		t.Skipf("%s is not installed (apt-get install %s, or make test-deps)", name, pkg)
	}
	return path
}

// serveOptions are the flags and environment variables of httpmq serve.
func serveOptions() (flags, envs map[string]bool) {
	flags, envs = map[string]bool{}, map[string]bool{}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	defaultConfig().register(fs, modeServe)
	fs.VisitAll(func(f *flag.Flag) {
		flags["--"+f.Name] = true
		envs[envVar(f.Name)] = true
	})
	return flags, envs
}

// checkArgs requires every --flag of an httpmq command line to be an
// option of the command it runs.
func checkArgs(t *testing.T, where string, args []string) {
	t.Helper()
	require.NotEmpty(t, args, where)
	code, stdout, stderr := runCLI(t, "", false, append(slices.Clone(args), "--help")...)
	require.Equal(t, exitOK, code, "%s: httpmq %s: %s", where, strings.Join(args, " "), stderr)
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			assert.Contains(t, stdout, "  --"+name, "%s: httpmq %s has no --%s", where, args[0], name)
		}
	}
}

// dockerfile is the Dockerfile's instructions, continuation lines
// joined, comments dropped, split by stage.
type dockerfile struct {
	stages [][]string // each stage's instructions, FROM first
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	var d dockerfile
	var cur strings.Builder
	for line := range strings.SplitSeq(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		ins := strings.Join(strings.Fields(cur.String()), " ")
		cur.Reset()
		if ins == "" {
			continue
		}
		switch {
		case strings.HasPrefix(ins, "FROM "):
			d.stages = append(d.stages, []string{ins})
		case len(d.stages) == 0:
			require.Regexp(t, `^ARG `, ins, "only ARG may come before the first FROM")
		default:
			d.stages[len(d.stages)-1] = append(d.stages[len(d.stages)-1], ins)
		}
	}
	return d
}

// find returns the instructions of a stage starting with keyword.
func find(stage []string, keyword string) []string {
	var out []string
	for _, ins := range stage {
		if strings.HasPrefix(ins, keyword+" ") {
			out = append(out, strings.TrimPrefix(ins, keyword+" "))
		}
	}
	return out
}

// TestDockerfile: a multi-stage build of a static binary (CGO off, the
// version stamped as make build does) into a distroless image run as a
// non-root user, with exec-form commands that httpmq has, the default
// ports, and environment variables that are httpmq options.
func TestDockerfile(t *testing.T) {
	d := readDockerfile(t)
	require.Len(t, d.stages, 2, "a build stage and the image")
	build, final := d.stages[0], d.stages[1]
	assert.Regexp(t, `^FROM golang:\$\{GO_VERSION\} AS build$`, build[0])
	run := strings.Join(find(build, "RUN"), "\n")
	assert.Contains(t, run, "CGO_ENABLED=0 go build")
	assert.Contains(t, run, "-X main.version=${VERSION}", "the version, as the Makefile stamps it")
	assert.Contains(t, run, "./cmd/httpmq")
	makefile, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	assert.Contains(t, string(makefile), `-ldflags "-X main.version=$(VERSION)"`, "the Makefile still stamps main.version")

	assert.Regexp(t, `^FROM gcr\.io/distroless/static-debian\d+:nonroot$`, final[0], "a static image without shell")
	users := find(final, "USER")
	require.Len(t, users, 1)
	assert.NotRegexp(t, `^(root|0)(:|$)`, users[0], "not root")
	for _, c := range find(final, "COPY") {
		assert.Contains(t, c, "--from=build", "the image gets only what the build made")
	}

	var entrypoint, cmd, health []string
	require.NoError(t, json.Unmarshal([]byte(find(final, "ENTRYPOINT")[0]), &entrypoint), "exec form")
	require.NoError(t, json.Unmarshal([]byte(find(final, "CMD")[0]), &cmd), "exec form")
	hc := find(final, "HEALTHCHECK")[0]
	require.NoError(t, json.Unmarshal([]byte(hc[strings.Index(hc, "CMD ")+4:]), &health), "exec form: there is no shell")
	assert.Equal(t, []string{"/usr/local/bin/httpmq"}, entrypoint)
	assert.Equal(t, "/usr/local/bin/httpmq", health[0])
	checkArgs(t, "Dockerfile CMD", cmd)
	checkArgs(t, "Dockerfile HEALTHCHECK", health[1:])

	_, envs := serveOptions()
	env := find(final, "ENV")
	require.Len(t, env, 1)
	ports := map[string]string{}
	for _, kv := range strings.Fields(env[0]) {
		k, v, _ := strings.Cut(kv, "=")
		assert.True(t, envs[k], "ENV %s is no httpmq option", k)
		if strings.HasSuffix(k, "_ADDR") {
			ports[v[strings.LastIndex(v, ":")+1:]] = k
		}
	}
	assert.Equal(t, []string{"3000 3001"}, find(final, "EXPOSE"))
	assert.Equal(t, map[string]string{"3000": "HTTPMQ_MANAGEMENT_ADDR", "3001": "HTTPMQ_DATAPLANE_ADDR"}, ports,
		"the listeners are on the exposed ports")
	assert.Contains(t, health, "http://127.0.0.1:3000", "the health check asks the management listener")
}

// compose is the part of a compose file these tests read.
type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		DependsOn   map[string]any    `yaml:"depends_on"`
		Healthcheck map[string]any    `yaml:"healthcheck"`
	} `yaml:"services"`
}

// TestComposeFile: docker-compose accepts deploy/compose.yaml; it runs a
// 3-node JetStream cluster with health checks and two httpmq instances
// on it, whose options exist, on distinct host ports.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("../../deploy/compose.yaml")
	require.NoError(t, err)
	var c compose
	require.NoError(t, yaml.Unmarshal(b, &c))
	flags, envs := serveOptions()
	var nats, httpmqs []string
	hostPorts := map[string]bool{}
	for name, s := range c.Services {
		switch {
		case strings.HasPrefix(s.Image, "nats:"):
			nats = append(nats, name)
			assert.NotEmpty(t, s.Healthcheck, "%s has a health check", name)
			assert.Contains(t, s.Command, "--jetstream", name)
			assert.Contains(t, s.Command, "--name="+name, name)
		case s.Image == "httpmq:dev":
			httpmqs = append(httpmqs, name)
			checkArgs(t, "compose "+name, s.Command)
			for _, a := range s.Command[1:] {
				assert.True(t, flags[strings.SplitN(a, "=", 2)[0]], "compose %s: %s", name, a)
			}
			for k := range s.Environment {
				assert.True(t, envs[k], "compose %s: %s is no httpmq option", name, k)
			}
			assert.Regexp(t, `^nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222$`, s.Environment["HTTPMQ_NATS_URL"])
			assert.Len(t, s.DependsOn, 3, "%s waits for the NATS nodes", name)
			for _, p := range s.Ports {
				assert.True(t, strings.HasPrefix(p, "127.0.0.1:"), "%s: published on loopback only: %s", name, p)
				hostPorts[strings.Split(p, ":")[1]] = true
			}
		default:
			t.Errorf("unexpected service %s (image %s)", name, s.Image)
		}
	}
	assert.Len(t, nats, 3, "a 3-node NATS cluster")
	assert.Len(t, httpmqs, 2, "two httpmq instances")
	assert.Len(t, hostPorts, 4, "two listeners each, on distinct host ports")

	out, err := exec.Command(validator(t, "docker-compose", "docker-compose"), "-f", "../../deploy/compose.yaml", "config", "-q").CombinedOutput()
	assert.NoError(t, err, "docker-compose config: %s", out)
	assert.Empty(t, string(out))
}

// TestSystemdUnit: systemd-analyze verify finds nothing to say about
// deploy/httpmq.service, which runs httpmq serve with real options,
// hardened, as a dynamic user keeping its data in its state directory.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("../../deploy/httpmq.service")
	require.NoError(t, err)
	unit := string(b)
	exec1 := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/httpmq (.*)$`).FindStringSubmatch(unit)
	require.NotNil(t, exec1)
	args := strings.Fields(exec1[1])
	checkArgs(t, "httpmq.service", args)
	assert.Contains(t, exec1[1], "--data-dir /var/lib/httpmq", "the data in the StateDirectory")
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=httpmq", "NoNewPrivileges=yes", "ProtectSystem=strict",
		"ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n", "ExecReload=/bin/kill -HUP $MAINPID"} {
		assert.Contains(t, unit, want)
	}

	analyze := validator(t, "systemd-analyze", "systemd")
	// verify checks that ExecStart's program exists: point it at a
	// built httpmq.
	dir := t.TempDir()
	bin := httpmqBinary(t)
	path := filepath.Join(dir, "httpmq.service")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/httpmq", bin)), 0o600))
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	assert.NoError(t, err, "%s", out)
	assert.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify warns")
}
