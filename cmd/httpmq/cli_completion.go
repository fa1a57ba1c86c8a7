package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// completionCommand is "httpmq completion bash|zsh|fish": a shell script
// completing httpmq's commands and flags, generated from the command
// tree (root) so that it always lists what the binary has.
func (a *app) completionCommand(root *ffcli.Command) *ffcli.Command {
	return &ffcli.Command{
		Name:       "completion",
		ShortUsage: "httpmq completion bash|zsh|fish",
		ShortHelp:  "print a shell completion script for bash, zsh or fish",
		LongHelp: strings.TrimSpace(`
Load it in the running shell, or from its startup file:
  bash:  source <(httpmq completion bash)        (~/.bashrc)
  zsh:   source <(httpmq completion zsh)         (~/.zshrc)
  fish:  httpmq completion fish | source         (~/.config/fish/config.fish)
or save it where the shell looks for completions
(/etc/bash_completion.d/httpmq, ~/.config/fish/completions/httpmq.fish).`),
		FlagSet:   flag.NewFlagSet("httpmq completion", flag.ContinueOnError),
		UsageFunc: usage,
		Exec: func(_ context.Context, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("usage: httpmq completion bash|zsh|fish")}
			}
			tree := completionTree(root)
			switch args[0] {
			case "bash":
				return writeBash(a.stdout, tree)
			case "zsh":
				// zsh runs bash completion functions through bashcompinit.
				fmt.Fprintln(a.stdout, "# zsh completion for httpmq: the bash one, through bashcompinit.")
				fmt.Fprintln(a.stdout, "autoload -U +X bashcompinit && bashcompinit")
				return writeBash(a.stdout, tree)
			case "fish":
				return writeFish(a.stdout, tree)
			}
			return usageError{fmt.Errorf("unknown shell %q: bash, zsh or fish", args[0])}
		},
	}
}

// completionNode is one command of the tree: its path ("" for httpmq
// itself, "/stream/add" for httpmq stream add), subcommands and flags.
type completionNode struct {
	path  string
	help  string
	subs  []*ffcli.Command
	flags []completionFlag
}

type completionFlag struct {
	names []string // "--subjects", and "-f" for a short alias
	help  string
	file  bool // takes a file or directory name
}

// completionTree lists root and every command under it, depth first.
func completionTree(root *ffcli.Command) []completionNode {
	var out []completionNode
	var walk func(c *ffcli.Command, path string)
	walk = func(c *ffcli.Command, path string) {
		n := completionNode{path: path, help: c.ShortHelp, subs: c.Subcommands}
		if c.FlagSet != nil {
			c.FlagSet.VisitAll(func(f *flag.Flag) {
				argname, text := flag.UnquoteUsage(f)
				cf := completionFlag{names: []string{"--" + f.Name}, help: text,
					file: !isBoolFlag(f) && (argname == "file" || argname == "directory")}
				for short, long := range shortFlags {
					if long == f.Name {
						cf.names = append(cf.names, "-"+short)
					}
				}
				n.flags = append(n.flags, cf)
			})
		}
		out = append(out, n)
		for _, s := range c.Subcommands {
			walk(s, path+"/"+s.Name)
		}
	}
	walk(root, "")
	return out
}

// words are what may follow a node: subcommand names, then flags.
func (n completionNode) words() []string {
	var w []string
	for _, s := range n.subs {
		w = append(w, s.Name)
	}
	for _, f := range n.flags {
		w = append(w, f.names...)
	}
	return append(w, "--help")
}

func writeBash(w io.Writer, tree []completionNode) error {
	var b strings.Builder
	b.WriteString(`# bash completion for httpmq; load it with: source <(httpmq completion bash)
_httpmq() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} path= words i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case "$path/${COMP_WORDS[i]}" in
`)
	var paths, files []string
	for _, n := range tree {
		if n.path != "" {
			paths = append(paths, n.path)
		}
		for _, f := range n.flags {
			if f.file {
				files = append(files, f.names...)
			}
		}
	}
	slices.Sort(files)
	files = slices.Compact(files)
	fmt.Fprintf(&b, "\t\t%s) path=$path/${COMP_WORDS[i]} ;;\n", strings.Join(paths, "|"))
	b.WriteString("\t\tesac\n\tdone\n")
	if len(files) > 0 {
		fmt.Fprintf(&b, "\tcase $prev in\n\t%s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n\tesac\n", strings.Join(files, "|"))
	}
	b.WriteString("\tcase $path in\n")
	for _, n := range tree {
		fmt.Fprintf(&b, "\t%q) words=%q ;;\n", n.path, strings.Join(n.words(), " "))
	}
	b.WriteString("\tesac\n\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\ncomplete -F _httpmq httpmq\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFish(w io.Writer, tree []completionNode) error {
	var b strings.Builder
	b.WriteString(`# fish completion for httpmq; load it with: httpmq completion fish | source
function __httpmq_at --description 'is the command line at this httpmq command?'
	set -l path httpmq
	for word in (commandline -opc)[2..-1]
		if contains -- "$path/$word" $__httpmq_paths
			set path "$path/$word"
		end
	end
	test "$path" = "$argv[1]"
end
complete -c httpmq -f
`)
	var paths []string
	for _, n := range tree {
		if n.path != "" {
			paths = append(paths, fishQuote("httpmq"+n.path))
		}
	}
	fmt.Fprintf(&b, "set -g __httpmq_paths %s\n", strings.Join(paths, " "))
	for _, n := range tree {
		at := fishQuote("__httpmq_at httpmq" + n.path) // paths are plain words and slashes
		for _, s := range n.subs {
			fmt.Fprintf(&b, "complete -c httpmq -n %s -a %s -d %s\n", at, fishQuote(s.Name), fishQuote(s.ShortHelp))
		}
		for _, f := range n.flags {
			opts := ""
			for _, name := range f.names {
				if long, ok := strings.CutPrefix(name, "--"); ok {
					opts += " -l " + fishQuote(long)
				} else {
					opts += " -s " + fishQuote(strings.TrimPrefix(name, "-"))
				}
			}
			if f.file {
				opts += " -F"
			}
			fmt.Fprintf(&b, "complete -c httpmq -n %s%s -d %s\n", at, opts, fishQuote(firstSentence(f.help)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fishQuote quotes s for fish: single quotes, \ and ' escaped.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// firstSentence shortens a flag's help for a completion menu.
func firstSentence(s string) string {
	if i := strings.IndexAny(s, ";("); i > 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
