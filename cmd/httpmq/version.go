package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3"
// (make build does). Otherwise the module version, if any, is used.
var version = ""

func (a *app) versionCommand() *ffcli.Command {
	return &ffcli.Command{
		Name:       "version",
		ShortUsage: "httpmq version",
		ShortHelp:  "print the version of httpmq and of Go it was built with",
		FlagSet:    flag.NewFlagSet("httpmq version", flag.ContinueOnError),
		UsageFunc:  usage,
		Exec:       func(context.Context, []string) error { return a.printVersion() },
	}
}

// printVersion is the answer of "httpmq version" and "httpmq --version".
func (a *app) printVersion() error {
	_, err := fmt.Fprintf(a.stdout, "httpmq %s (%s, %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
