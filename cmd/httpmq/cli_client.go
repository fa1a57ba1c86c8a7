package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	httpmq "github.com/httpmq/httpmq/clients/go"
)

// The client commands (stream, consumer, pub, sub) talk to a running
// httpmq through the Go SDK, as the nats CLI does to NATS.

// Defaults of the client commands' server flags: where "httpmq serve"
// listens by default.
const (
	defaultAdminURL = "http://127.0.0.1:3000"
	defaultDataURL  = "http://127.0.0.1:3001"
)

// clientCommands are the client subcommands of httpmq.
func (a *app) clientCommands() []*ffcli.Command {
	return []*ffcli.Command{a.streamCommand(), a.consumerCommand(), a.pubCommand(), a.subCommand()}
}

// clientFlags are the flags every client command has.
type clientFlags struct {
	adminURL string
	dataURL  string
	json     bool
	timeout  time.Duration
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.adminURL, "admin-url", defaultAdminURL, "management API `URL`")
	fs.StringVar(&c.dataURL, "data-url", defaultDataURL, "dataplane `URL` (REST and sessions)")
	fs.BoolVar(&c.json, "json", false, "print JSON instead of tables")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "bound on each request to the server")
}

func (c *clientFlags) admin() *httpmq.AdminClient { return httpmq.NewAdminClient(c.adminURL, nil) }

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
// environment (HTTPMQ_ADMIN_URL, HTTPMQ_DATA_URL…).
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

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONLine prints v as one line of JSON (NDJSON for streams).
func writeJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
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
