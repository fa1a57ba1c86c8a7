package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	httpmq "github.com/httpmq/httpmq/clients/go"
)

// The client commands (stream, consumer, pub, sub, ready) talk to a running
// httpmq through the Go SDK, as the nats CLI does to NATS.

// Defaults of the client commands' server flags: where "httpmq serve"
// listens by default.
const (
	defaultAdminURL = "http://127.0.0.1:3000"
	defaultDataURL  = "http://127.0.0.1:3001"
)

// clientCommands are the client subcommands of httpmq.
func (a *app) clientCommands() []*ffcli.Command {
	return []*ffcli.Command{a.streamCommand(), a.consumerCommand(), a.pubCommand(), a.subCommand(), a.readyCommand()}
}

// clientFlags are the flags every client command has.
type clientFlags struct {
	adminURL string
	dataURL  string
	json     bool
	timeout  time.Duration
	// Credentials and TLS.
	token             string
	caFile            string
	certFile, keyFile string

	tls       *tls.Config     // from caFile and certFile/keyFile, by prepare
	transport *http.Transport // the REST clients', made by prepare
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.adminURL, "admin-url", defaultAdminURL, "management API `URL`")
	fs.StringVar(&c.dataURL, "data-url", defaultDataURL, "dataplane `URL` (REST and sessions)")
	fs.BoolVar(&c.json, "json", false, "print JSON instead of tables")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "bound on each request to the server")
	fs.StringVar(&c.token, "token", "", "bearer `token` (a JWT or an API key) sent to the server; prefer HTTPMQ_TOKEN, which ps does not show")
	fs.StringVar(&c.caFile, "ca-file", "", "PEM CA certificate `file` to verify an https:// server with (default: the system's roots)")
	fs.StringVar(&c.certFile, "cert", "", "PEM client certificate `file` for mutual TLS (needs --key)")
	fs.StringVar(&c.keyFile, "key", "", "PEM private key `file` of --cert")
}

// prepare loads the TLS files the flags name and makes the REST
// clients' transport.
func (c *clientFlags) prepare() error {
	if (c.certFile == "") != (c.keyFile == "") {
		return usageError{errors.New("--cert and --key go together")}
	}
	if c.caFile != "" || c.certFile != "" {
		c.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		if c.caFile != "" {
			pool, err := certPool("ca-file", c.caFile)
			if err != nil {
				return err
			}
			c.tls.RootCAs = pool
		}
		if c.certFile != "" {
			cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
			if err != nil {
				return fmt.Errorf("--cert/--key: %w", err)
			}
			c.tls.Certificates = []tls.Certificate{cert}
		}
	}
	c.transport = http.DefaultTransport.(*http.Transport).Clone()
	c.transport.TLSClientConfig = c.tls
	return nil
}

// close releases the REST clients' idle connections.
func (c *clientFlags) close() {
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
}

// header carries the token.
func (c *clientFlags) header() http.Header {
	if c.token == "" {
		return nil
	}
	return http.Header{"Authorization": {"Bearer " + c.token}}
}

// options configure the REST clients.
func (c *clientFlags) options() *httpmq.ClientOptions {
	return &httpmq.ClientOptions{Header: c.header(), HTTPClient: &http.Client{Transport: c.transport}}
}

func (c *clientFlags) admin() *httpmq.AdminClient {
	return httpmq.NewAdminClient(c.adminURL, c.options())
}

func (c *clientFlags) data() *httpmq.DataClient {
	return httpmq.NewDataClient(c.dataURL, c.options())
}

// ctx bounds one request.
func (c *clientFlags) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, c.timeout)
}

// leaf is a client command with positional arguments named in args
// (each "NAME"; a trailing "..." takes the rest; "[X]" is optional).
type leaf struct {
	name, args, help string
	long             string
	flags            func(fs *flag.FlagSet)
	run              func(ctx context.Context, cf *clientFlags, pos []string) error
}

// command builds a leaf's ffcli.Command. Flags may come before or after
// the positional arguments; each flag may also be set from the
// environment (HTTPMQ_ADMIN_URL, HTTPMQ_DATA_URL, HTTPMQ_TOKEN…).
func (a *app) command(parent string, l leaf) *ffcli.Command {
	full := strings.Join(strings.Fields("httpmq "+parent+" "+l.name), " ")
	fs := flag.NewFlagSet(full, flag.ContinueOnError)
	cf := &clientFlags{}
	cf.register(fs)
	if l.flags != nil {
		l.flags(fs)
	}
	min, max := arity(l.args)
	return &ffcli.Command{
		Name:       l.name,
		ShortUsage: strings.TrimSpace(full + " [flags] " + l.args),
		ShortHelp:  l.help,
		LongHelp:   l.long,
		FlagSet:    fs,
		UsageFunc:  usage,
		Options:    []ff.Option{ff.WithEnvVarPrefix(envPrefix)},
		Exec: func(ctx context.Context, args []string) error {
			pos, err := interspersed(fs, args)
			if err != nil {
				return usageError{err}
			}
			if len(pos) < min || (max >= 0 && len(pos) > max) {
				return usageError{fmt.Errorf("usage: %s [flags] %s", full, l.args)}
			}
			if err := cf.prepare(); err != nil {
				return err
			}
			defer cf.close()
			return l.run(ctx, cf, pos)
		},
	}
}

// arity counts the positional arguments a leaf takes.
func arity(args string) (min, max int) {
	for _, f := range strings.Fields(args) {
		switch {
		case strings.HasSuffix(f, "..."):
			return min, -1
		case strings.HasPrefix(f, "["):
			max++
		default:
			min++
			max++
		}
	}
	return min, max
}

// interspersed parses flags found among the positional arguments, which
// package flag stops at.
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		if !strings.HasPrefix(args[0], "-") || args[0] == "-" {
			pos = append(pos, args[0])
			args = args[1:]
			continue
		}
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
	}
	return pos, nil
}

// group is a command with subcommands only ("stream", "consumer").
func group(name, help string, subs ...*ffcli.Command) *ffcli.Command {
	return &ffcli.Command{
		Name:        name,
		ShortUsage:  "httpmq " + name + " <command> [flags]",
		ShortHelp:   help,
		FlagSet:     flag.NewFlagSet("httpmq "+name, flag.ContinueOnError),
		UsageFunc:   usage,
		Subcommands: subs,
		Exec: func(_ context.Context, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q; run \"httpmq %s --help\" for the list", name+" "+args[0], name)}
			}
			return flag.ErrHelp
		},
	}
}

// writeJSON prints v as indented JSON, with <, > and & as they are
// (subjects like "orders.>" stay readable).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONLine prints v as one line of JSON (NDJSON for streams).
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table prints rows aligned in columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// stdin is the input of pub.
func (a *app) input() io.Reader {
	if a.stdin != nil {
		return a.stdin
	}
	return os.Stdin
}

// limit shows a limit, -1 (or 0 where said) as "unlimited".
func limit[T int | int32 | int64](v T) string {
	if v < 0 {
		return "unlimited"
	}
	return fmt.Sprint(v)
}

func age(d time.Duration) string {
	if d <= 0 {
		return "unlimited"
	}
	return d.String()
}

func when(t time.Time) string {
	if t.IsZero() || t.Year() <= 1 {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

// given reports whether the flag name was set on the command line.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// confirmHelp is the long help of the commands that ask before deleting.
const confirmHelp = `Asks for confirmation on a terminal; -f (--force) deletes without asking,
and is required when standard input is not a terminal (scripts).`

// forceFlag registers --force (-f) for a command that asks before
// deleting.
func forceFlag(force *bool) func(fs *flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.BoolVar(force, "force", false, "delete without asking")
	}
}

// confirm asks the user, on a terminal, to confirm what (a sentence
// starting with a verb); force skips the question. Off a terminal,
// nothing can be asked, so it refuses unless force.
func (a *app) confirm(force bool, what string) error {
	if force {
		return nil
	}
	if !a.interactive {
		return usageError{fmt.Errorf("not going to %s without confirmation: standard input is not a terminal, so httpmq cannot ask; add -f (--force) to do it", what)}
	}
	fmt.Fprintf(a.stderr, "%s%s? [y/N] ", strings.ToUpper(what[:1]), what[1:])
	answer, _ := bufio.NewReader(a.input()).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not confirmed; nothing deleted")
}
