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

func (a *app) consumerCommand() *ffcli.Command {
	var spec consumerFlags
	var force bool
	return group("consumer", "manage consumers: ls, add, info, rm",
		a.command("consumer", leaf{name: "ls", args: "STREAM", help: "list a stream's consumers", run: a.consumerList}),
		a.command("consumer", leaf{name: "add", args: "STREAM NAME", help: "define a durable consumer",
			flags: spec.register,
			run: func(ctx context.Context, cf *clientFlags, pos []string) error {
				return a.consumerAdd(ctx, cf, pos[0], pos[1], &spec)
			}}),
		a.command("consumer", leaf{name: "info", args: "STREAM NAME", help: "show a consumer", run: a.consumerInfo}),
		a.command("consumer", leaf{name: "rm", args: "STREAM NAME", help: "delete a consumer",
			long: confirmHelp, flags: forceFlag(&force),
			run: func(ctx context.Context, cf *clientFlags, pos []string) error {
				if err := a.confirm(force, "delete consumer "+pos[1]+" of stream "+pos[0]); err != nil {
					return err
				}
				return a.consumerRemove(ctx, cf, pos)
			}}),
	)
}

// consumerFlags are the options of consumer add.
type consumerFlags struct {
	fs                        *flag.FlagSet
	mode, filter, group, desc string
	deliver                   string
	startSeq                  uint64
	maxInflight, maxRetry     int
	ackWait                   time.Duration
}

func (c *consumerFlags) register(fs *flag.FlagSet) {
	c.fs = fs
	fs.StringVar(&c.mode, "mode", httpmq.ModePull, "push or pull")
	fs.StringVar(&c.filter, "filter", "", "only messages on this `subject` (wildcards allowed)")
	fs.StringVar(&c.group, "group", "", "push consumers: delivery group shared by subscribers")
	fs.StringVar(&c.desc, "description", "", "description (notes)")
	fs.StringVar(&c.deliver, "deliver", "", "all, last, new, by_start_sequence (with --start-seq), last_per_subject (default all)")
	fs.Uint64Var(&c.startSeq, "start-seq", 0, "first stream sequence to deliver (sets --deliver by_start_sequence)")
	fs.IntVar(&c.maxInflight, "max-inflight", 0, "most unacknowledged messages (default 1000)")
	fs.IntVar(&c.maxRetry, "max-retry", 0, "most deliveries of one message (default -1: unlimited)")
	fs.DurationVar(&c.ackWait, "ack-wait", 0, "redeliver a message not acknowledged within this (default 30s)")
}

func (c *consumerFlags) set(name string) bool { return given(c.fs, name) }

func (a *app) consumerAdd(ctx context.Context, cf *clientFlags, stream, name string, c *consumerFlags) error {
	nc := httpmq.NewConsumer{Name: name, Mode: c.mode, FilterSubject: c.filter, DeliveryGroup: c.group,
		Notes: c.desc, DeliverPolicy: c.deliver, OptStartSeq: c.startSeq}
	if c.startSeq > 0 && nc.DeliverPolicy == "" {
		nc.DeliverPolicy = "by_start_sequence"
	}
	if c.set("max-inflight") {
		nc.MaxInflight = httpmq.Ptr(c.maxInflight)
	}
	if c.set("max-retry") {
		nc.MaxRetry = httpmq.Ptr(c.maxRetry)
	}
	if c.set("ack-wait") {
		nc.AckWait = httpmq.Ptr(c.ackWait)
	}
	ctx, cancel := cf.ctx(ctx)
	defer cancel()
	ci, err := cf.admin().CreateConsumer(ctx, stream, nc)
	if err != nil {
		return err
	}
	return a.printConsumer(cf, ci)
}

func (a *app) consumerList(ctx context.Context, cf *clientFlags, pos []string) error {
	ctx, cancel := cf.ctx(ctx)
	defer cancel()
	all, err := cf.admin().Consumers(ctx, pos[0])
	if err != nil {
		return err
	}
	if cf.json {
		return writeJSON(a.stdout, all)
	}
	rows := make([][]string, 0, len(all))
	for _, n := range slices.Sorted(maps.Keys(all)) {
		c := all[n]
		rows = append(rows, []string{n, c.Config.Mode, filterOf(c.Config), fmt.Sprint(c.NumPending),
			fmt.Sprint(c.NumAckPending), fmt.Sprint(c.NumRedelivered), fmt.Sprint(c.AckFloor.StreamSeq)})
	}
	return table(a.stdout, []string{"CONSUMER", "MODE", "FILTER", "PENDING", "UNACKED", "REDELIVERED", "ACK FLOOR"}, rows)
}

func filterOf(c httpmq.ConsumerConfig) string {
	if len(c.FilterSubjects) > 0 {
		return strings.Join(c.FilterSubjects, ",")
	}
	if c.FilterSubject == "" {
		return "-"
	}
	return c.FilterSubject
}

func (a *app) consumerInfo(ctx context.Context, cf *clientFlags, pos []string) error {
	ctx, cancel := cf.ctx(ctx)
	defer cancel()
	ci, err := cf.admin().Consumer(ctx, pos[0], pos[1])
	if err != nil {
		return err
	}
	return a.printConsumer(cf, ci)
}

func (a *app) consumerRemove(ctx context.Context, cf *clientFlags, pos []string) error {
	ctx, cancel := cf.ctx(ctx)
	defer cancel()
	if err := cf.admin().DeleteConsumer(ctx, pos[0], pos[1]); err != nil {
		return err
	}
	if cf.json {
		return writeJSON(a.stdout, map[string]any{"deleted": pos[1], "stream": pos[0]})
	}
	_, err := fmt.Fprintf(a.stdout, "consumer %s of stream %s deleted\n", pos[1], pos[0])
	return err
}

func (a *app) printConsumer(cf *clientFlags, ci *httpmq.ConsumerInfo) error {
	if cf.json {
		return writeJSON(a.stdout, ci)
	}
	c := ci.Config
	maxDeliver := "unlimited"
	if c.MaxDeliver > 0 {
		maxDeliver = fmt.Sprint(c.MaxDeliver)
	}
	group := c.DeliverGroup
	if group == "" {
		group = "-"
	}
	return table(a.stdout, []string{"CONSUMER", ci.Name}, [][]string{
		{"stream", ci.StreamName},
		{"description", c.Notes},
		{"created", when(ci.Created)},
		{"mode", c.Mode},
		{"filter", filterOf(c)},
		{"delivery group", group},
		{"deliver policy", c.DeliverPolicy},
		{"ack wait", c.AckWait.String()},
		{"max inflight", fmt.Sprint(c.MaxAckPending)},
		{"max deliveries", maxDeliver},
		{"delivered", fmt.Sprintf("consumer seq %d, stream seq %d", ci.Delivered.ConsumerSeq, ci.Delivered.StreamSeq)},
		{"ack floor", fmt.Sprintf("consumer seq %d, stream seq %d", ci.AckFloor.ConsumerSeq, ci.AckFloor.StreamSeq)},
		{"pending", fmt.Sprint(ci.NumPending)},
		{"unacknowledged", fmt.Sprint(ci.NumAckPending)},
		{"redelivered", fmt.Sprint(ci.NumRedelivered)},
	})
}
