package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	httpmq "github.com/httpmq/httpmq/clients/go"
)

func (a *app) streamCommand() *ffcli.Command {
	var spec, edit streamFlags
	var force bool
	return group("stream", "manage streams: ls, add, info, edit, rm",
		a.command("stream", leaf{name: "ls", help: "list the streams", run: a.streamList}),
		a.command("stream", leaf{name: "add", args: "NAME", help: "define a stream",
			long:  "Without --subjects the stream captures the subject of its own name.",
			flags: func(fs *flag.FlagSet) { spec.register(fs, true) },
			run: func(ctx context.Context, cf *clientFlags, pos []string) error {
				return a.streamAdd(ctx, cf, pos[0], &spec)
			}}),
		a.command("stream", leaf{name: "info", args: "NAME", help: "show a stream", run: a.streamInfo}),
		a.command("stream", leaf{name: "edit", args: "NAME", help: "change a stream's subjects, limits or settings (only the flags given)",
			flags: func(fs *flag.FlagSet) { edit.register(fs, false) },
			run: func(ctx context.Context, cf *clientFlags, pos []string) error {
				return a.streamEdit(ctx, cf, pos[0], &edit)
			}}),
		a.command("stream", leaf{name: "rm", args: "NAME", help: "delete a stream with its messages and consumers",
			long: confirmHelp, flags: forceFlag(&force),
			run: func(ctx context.Context, cf *clientFlags, pos []string) error {
				if err := a.confirm(force, "delete stream "+pos[0]+" with all its messages and consumers"); err != nil {
					return err
				}
				return a.streamRemove(ctx, cf, pos)
			}}),
	)
}

// streamFlags are the options of stream add and edit. Only flags given
// on the command line (or in the environment) are sent.
type streamFlags struct {
	fs                                    *flag.FlagSet
	subjects                              stringList
	storage, retention, discard, desc     string
	maxAge, dupWindow                     time.Duration
	maxMsgs, maxBytes, maxMsgsPerSubject  int64
	maxConsumers, replicas, maxMsgSizeInt int
}

func (s *streamFlags) register(fs *flag.FlagSet, add bool) {
	s.fs = fs
	fs.Var(&s.subjects, "subjects", "`subjects` the stream captures (comma-separated or repeated; wildcards allowed)")
	if add {
		fs.StringVar(&s.storage, "storage", "", "file or memory (default file)")
	}
	fs.StringVar(&s.retention, "retention", "", "limits, interest or workqueue (default limits)")
	fs.StringVar(&s.discard, "discard", "", "old or new: what to drop when a limit is reached (default old)")
	fs.StringVar(&s.desc, "description", "", "description")
	fs.DurationVar(&s.maxAge, "max-age", 0, "drop messages older than this (0: unlimited)")
	fs.DurationVar(&s.dupWindow, "dup-window", 0, "message id de-duplication window (default 2m, or max-age if shorter)")
	fs.Int64Var(&s.maxMsgs, "max-msgs", 0, "most messages (-1: unlimited)")
	fs.Int64Var(&s.maxBytes, "max-bytes", 0, "most bytes (-1: unlimited)")
	fs.Int64Var(&s.maxMsgsPerSubject, "max-msgs-per-subject", 0, "most messages per subject (-1: unlimited)")
	fs.IntVar(&s.maxConsumers, "max-consumers", 0, "most consumers (-1: unlimited)")
	fs.IntVar(&s.maxMsgSizeInt, "max-msg-size", 0, "largest message in bytes (-1: unlimited)")
	fs.IntVar(&s.replicas, "replicas", 0, "replicas, on clustered JetStream (default 1)")
}

func (s *streamFlags) set(name string) bool { return given(s.fs, name) }

func (s *streamFlags) limits() httpmq.StreamLimits {
	var l httpmq.StreamLimits
	if s.set("max-age") {
		l.MaxAge = httpmq.Ptr(s.maxAge)
	}
	if s.set("max-msgs") {
		l.MaxMsgs = httpmq.Ptr(s.maxMsgs)
	}
	if s.set("max-bytes") {
		l.MaxBytes = httpmq.Ptr(s.maxBytes)
	}
	if s.set("max-msgs-per-subject") {
		l.MaxMsgsPerSubject = httpmq.Ptr(s.maxMsgsPerSubject)
	}
	if s.set("max-consumers") {
		l.MaxConsumers = httpmq.Ptr(s.maxConsumers)
	}
	if s.set("max-msg-size") {
		l.MaxMsgSize = httpmq.Ptr(int32(s.maxMsgSizeInt))
	}
	return l
}

func (s *streamFlags) settings() httpmq.StreamSettings {
	st := httpmq.StreamSettings{Retention: s.retention, Discard: s.discard}
	if s.set("description") {
		st.Description = httpmq.Ptr(s.desc)
	}
	if s.set("replicas") {
		st.Replicas = httpmq.Ptr(s.replicas)
	}
	if s.set("dup-window") {
		st.DuplicateWindow = httpmq.Ptr(s.dupWindow)
	}
	return st
}

func (a *app) streamList(ctx context.Context, cf *clientFlags, _ []string) error {
	ctx, cancel := cf.ctx(ctx)
	defer cancel()
	all, err := cf.admin().Streams(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return writeJSON(a.stdout, all)
	}
	rows := make([][]string, 0, len(all))
	for _, n := range slices.Sorted(maps.Keys(all)) {
		s := all[n]
		rows = append(rows, []string{n, strings.Join(s.Config.Subjects, ","), fmt.Sprint(s.State.Messages),
			fmt.Sprint(s.State.Bytes), fmt.Sprint(s.State.ConsumerCount), when(s.State.LastTS)})
	}
	return table(a.stdout, []string{"STREAM", "SUBJECTS", "MESSAGES", "BYTES", "CONSUMERS", "LAST MESSAGE"}, rows)
}

func (a *app) streamAdd(ctx context.Context, cf *clientFlags, name string, s *streamFlags) error {
	ctx, cancel := cf.ctx(ctx)
	defer cancel()
	si, err := cf.admin().CreateStream(ctx, httpmq.NewStream{Name: name, Subjects: s.subjects, Storage: s.storage,
		StreamLimits: s.limits(), StreamSettings: s.settings()})
	if err != nil {
		return err
	}
	return a.printStream(cf, si)
}

func (a *app) streamEdit(ctx context.Context, cf *clientFlags, name string, s *streamFlags) error {
	ctx, cancel := cf.ctx(ctx)
	defer cancel()
	si, err := cf.admin().UpdateStream(ctx, name, httpmq.StreamUpdate{Subjects: s.subjects,
		StreamLimits: s.limits(), StreamSettings: s.settings()})
	if err != nil {
		return err
	}
	return a.printStream(cf, si)
}

func (a *app) streamInfo(ctx context.Context, cf *clientFlags, pos []string) error {
	ctx, cancel := cf.ctx(ctx)
	defer cancel()
	si, err := cf.admin().Stream(ctx, pos[0])
	if err != nil {
		return err
	}
	return a.printStream(cf, si)
}

func (a *app) streamRemove(ctx context.Context, cf *clientFlags, pos []string) error {
	ctx, cancel := cf.ctx(ctx)
	defer cancel()
	if err := cf.admin().DeleteStream(ctx, pos[0]); err != nil {
		return err
	}
	if cf.json {
		return writeJSON(a.stdout, map[string]any{"deleted": pos[0]})
	}
	_, err := fmt.Fprintf(a.stdout, "stream %s deleted\n", pos[0])
	return err
}

func (a *app) printStream(cf *clientFlags, si *httpmq.StreamInfo) error {
	if cf.json {
		return writeJSON(a.stdout, si)
	}
	c, st := si.Config, si.State
	return table(a.stdout, []string{"STREAM", c.Name}, [][]string{
		{"description", c.Description},
		{"subjects", strings.Join(c.Subjects, ", ")},
		{"created", when(si.Created)},
		{"storage", c.Storage},
		{"retention", c.Retention},
		{"discard", c.Discard},
		{"replicas", fmt.Sprint(c.Replicas)},
		{"max age", age(c.MaxAge)},
		{"max messages", limit(c.MaxMsgs)},
		{"max bytes", limit(c.MaxBytes)},
		{"max messages per subject", limit(c.MaxMsgsPerSubject)},
		{"max message size", limit(c.MaxMsgSize)},
		{"max consumers", limit(c.MaxConsumers)},
		{"duplicate window", c.DuplicateWindow.String()},
		{"messages", fmt.Sprint(st.Messages)},
		{"bytes", fmt.Sprint(st.Bytes)},
		{"first sequence", fmt.Sprintf("%d (%s)", st.FirstSeq, when(st.FirstTS))},
		{"last sequence", fmt.Sprintf("%d (%s)", st.LastSeq, when(st.LastTS))},
		{"consumers", fmt.Sprint(st.ConsumerCount)},
		{"subjects with messages", fmt.Sprint(st.NumSubjects)},
	})
}
