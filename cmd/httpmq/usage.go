package main

import (
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// usage is the --help text of every command: ffcli's layout, with each
// flag shown as --name, its default and its environment variable.
func usage(c *ffcli.Command) string {
	var b strings.Builder
	if c.ShortHelp != "" {
		fmt.Fprintf(&b, "%s\n\n", c.ShortHelp)
	}
	fmt.Fprintf(&b, "USAGE\n  %s\n\n", c.ShortUsage)
	if c.LongHelp != "" {
		fmt.Fprintf(&b, "%s\n\n", c.LongHelp)
	}
	if len(c.Subcommands) > 0 {
		b.WriteString("COMMANDS\n")
		tw := tabwriter.NewWriter(&b, 0, 2, 2, ' ', 0)
		for _, sub := range c.Subcommands {
			fmt.Fprintf(tw, "  %s\t%s\n", sub.Name, sub.ShortHelp)
		}
		_ = tw.Flush()
		b.WriteString("\n")
	}
	var flags []*flag.Flag
	c.FlagSet.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	if len(flags) > 0 {
		b.WriteString("FLAGS (environment variable, default)\n")
		for _, f := range flags {
			argname, text := flag.UnquoteUsage(f)
			name := "--" + f.Name
			for short, long := range shortFlags {
				if long == f.Name {
					name = "-" + short + ", " + name
				}
			}
			if argname != "" && !isBoolFlag(f) {
				name += " " + argname
			}
			fmt.Fprintf(&b, "  %s\n      %s\n      [%s", name, text, envVar(f.Name))
			// A flag whose text states its default (a zero value standing
			// for the server's) shows that one only.
			if f.DefValue != "" && f.DefValue != "false" && !strings.Contains(text, "default") {
				fmt.Fprintf(&b, ", default %s", f.DefValue)
			}
			b.WriteString("]\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// envVar is the environment variable ff reads for a flag.
func envVar(flagName string) string {
	return envPrefix + "_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flagName))
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
