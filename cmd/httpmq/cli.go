package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"
	"golang.org/x/term"
)

// Exit codes of run.
const (
	exitOK    = 0
	exitError = 1 // the program failed
	exitUsage = 2 // bad flags, environment or config file
)

// envPrefix prefixes every option's environment variable:
// --nats-url is HTTPMQ_NATS_URL.
const envPrefix = "HTTPMQ"

// run is the whole program: it parses args and runs the chosen command
// until ctx is cancelled (main cancels it on SIGINT or SIGTERM).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	serve := func(ctx context.Context, cfg *Config, m mode, log *slog.Logger) error {
		// The process's default logger is the configured one, so that
		// code logging through slog.Default (or package log) follows
		// --log-level and --log-json too. Only the real program does
		// this: tests call runServer with loggers of their own.
		slog.SetDefault(log)
		return runServer(ctx, cfg, m, log)
	}
	a := &app{stdout: stdout, stderr: stderr, serve: serve, interactive: term.IsTerminal(int(os.Stdin.Fd()))}
	return a.main(ctx, args)
}

// app is the command tree's environment. serve is [runServer] except in
// tests of the command line.
type app struct {
	stdout, stderr io.Writer
	stdin          io.Reader // of the client commands; nil means os.Stdin
	// interactive: stdin is a terminal, where a command may ask for
	// confirmation.
	interactive bool
	serve       func(ctx context.Context, cfg *Config, m mode, log *slog.Logger) error
}

func (a *app) main(ctx context.Context, args []string) int {
	root := a.rootCommand()
	var usage bytes.Buffer
	setOutput(root, &usage)
	if err := root.Parse(expandArgs(root, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) { // -h, -help, --help
			_, _ = a.stdout.Write(usage.Bytes())
			return exitOK
		}
		// A bad flag, environment variable or config file.
		fmt.Fprintf(a.stderr, "httpmq: %s\nRun \"httpmq --help\" or \"httpmq <command> --help\" for usage.\n", cliError(err))
		return exitUsage
	}
	usage.Reset()
	err := root.Run(ctx)
	var uerr usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp): // "httpmq" alone
		_, _ = a.stderr.Write(usage.Bytes())
		return exitUsage
	case errors.As(err, &uerr):
		fmt.Fprintf(a.stderr, "httpmq: %s\n", cliError(err))
		return exitUsage
	default:
		fmt.Fprintf(a.stderr, "httpmq: %s\n", cliError(err))
		return exitError
	}
}

// cliError is err's message without the "httpmq: " prefixes of the Go
// SDK's errors: the command line prefixes its messages once.
func cliError(err error) string {
	if err == nil {
		return ""
	}
	msg := strings.TrimPrefix(err.Error(), "httpmq: ")
	return strings.ReplaceAll(msg, ": httpmq: ", ": ")
}

// usageError is a configuration mistake (exit code 2), found after
// parsing.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func (a *app) rootCommand() *ffcli.Command {
	var showVersion bool
	root := &ffcli.Command{
		Name:       "httpmq",
		ShortUsage: "httpmq [-l level] <command> [flags]",
		LongHelp: strings.TrimSpace(`
httpmq puts NATS JetStream behind HTTP/2 REST and WebSockets. With no
--nats-url it runs an embedded JetStream server storing under --data-dir.

Every option can also be set with an environment variable (HTTPMQ_ and the
option's name in capitals, - as _: HTTPMQ_NATS_URL) or in a --config file;
flags win over the environment, which wins over the file.
Run "httpmq <command> --help" for a command's options.`),
		FlagSet: flag.NewFlagSet("httpmq", flag.ContinueOnError),
		Exec: func(_ context.Context, args []string) error {
			switch {
			case len(args) > 0:
				return usageError{fmt.Errorf("unknown command %q; run \"httpmq --help\" for the list", args[0])}
			case showVersion:
				return a.printVersion()
			}
			return flag.ErrHelp
		},
		Subcommands: []*ffcli.Command{
			a.runModeCommand(modeServe, "serve the management and dataplane APIs together", ""),
			a.runModeCommand(modeManagement, "serve the management (admin) REST API only", splitHelp),
			a.runModeCommand(modeDataplane, "serve the dataplane API only", splitHelp),
			a.versionCommand(),
		},
	}
	// Client commands (stream, consumer, pub, sub), in cli_*.go.
	root.Subcommands = append(root.Subcommands, a.clientCommands()...)
	root.Subcommands = append(root.Subcommands, a.completionCommand(root))
	root.FlagSet.BoolVar(&showVersion, "version", false, "print the version and exit")
	// Only so that "httpmq -l debug serve" works as in the original
	// httpmq: expandArgs moves these after the command name.
	cfg := defaultConfig()
	root.FlagSet.Var(levelFlag{&cfg.LogLevel}, "log-level", "log `level`: debug, info, warn or error")
	root.FlagSet.BoolVar(&cfg.LogJSON, "log-json", false, "log JSON lines instead of key=value text")
	root.UsageFunc = usage
	return root
}

// splitHelp is the long help of the run modes that serve one API.
const splitHelp = `Without --nats-url this process runs its own embedded JetStream server on
--data-dir, which no other process can share: to run "httpmq management" and
"httpmq dataplane" as separate processes, run NATS with JetStream and give both
--nats-url.`

// runModeCommand is "httpmq serve", "httpmq management" or
// "httpmq dataplane".
func (a *app) runModeCommand(m mode, help, long string) *ffcli.Command {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("httpmq "+m.name, flag.ContinueOnError)
	cfg.register(fs, m)
	known := allFlagNames()
	return &ffcli.Command{
		Name:       m.name,
		ShortUsage: "httpmq " + m.name + " [flags]",
		ShortHelp:  help,
		LongHelp:   long,
		FlagSet:    fs,
		UsageFunc:  usage,
		Options: []ff.Option{
			ff.WithEnvVarPrefix(envPrefix),
			ff.WithConfigFileFlag("config"),
			ff.WithConfigFileParser(configParser(known)),
			// Options of other run modes are allowed in the file (one file
			// for all modes); configParser refuses unknown ones.
			ff.WithIgnoreUndefined(true),
		},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("%s takes no arguments, got %q", m.name, args)}
			}
			if err := cfg.validate(m); err != nil {
				return usageError{err}
			}
			log := newLogger(a.stderr, cfg)
			return a.serve(ctx, cfg, m, log)
		},
	}
}

// configParser reads the config file: one option per line, "name value"
// (ff.PlainParser: # starts a comment, a name alone means true). Names
// that are no option of any run mode are errors.
func configParser(known map[string]bool) ff.ConfigFileParser {
	return func(r io.Reader, set func(name, value string) error) error {
		return ff.PlainParser(r, func(name, value string) error {
			name = strings.TrimLeft(name, "-")
			if long, ok := shortFlags[name]; ok {
				name = long
			}
			if !known[name] {
				return fmt.Errorf("config file: unknown option %q", name)
			}
			if name == "config" {
				return errors.New("config file: \"config\" cannot be set from a config file")
			}
			return set(name, value)
		})
	}
}

// expandArgs rewrites short aliases (-l) to their long flags and moves
// flags given before the command name after it, so "httpmq -l info
// management" means "httpmq management --log-level info".
func expandArgs(root *ffcli.Command, args []string) []string {
	var out []string
	for i, arg := range args {
		if arg == "--" {
			out = append(out, args[i:]...)
			break
		}
		out = append(out, expandShort(arg))
	}
	// Find where the root's own flags end, parsing a throwaway copy.
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	root.FlagSet.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	if fs.Parse(out) != nil || fs.NArg() == 0 || fs.NArg() == len(out) {
		return out
	}
	rest := fs.Args()
	global := out[:len(out)-len(rest)]
	if global[len(global)-1] == "--" {
		return out
	}
	moved := append([]string{rest[0]}, global...)
	return append(moved, rest[1:]...)
}

func expandShort(arg string) string {
	for short, long := range shortFlags {
		for _, dash := range []string{"-", "--"} {
			switch {
			case arg == dash+short:
				return "--" + long
			case strings.HasPrefix(arg, dash+short+"="):
				return "--" + long + arg[len(dash+short):]
			}
		}
	}
	return arg
}

func setOutput(c *ffcli.Command, w io.Writer) {
	if c.FlagSet == nil {
		c.FlagSet = flag.NewFlagSet(c.Name, flag.ContinueOnError)
	}
	c.FlagSet.SetOutput(w)
	for _, sub := range c.Subcommands {
		setOutput(sub, w)
	}
}
