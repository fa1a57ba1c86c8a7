package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/peterbourgon/ff/v3/ffcli"

	httpmq "github.com/httpmq/httpmq/clients/go"
)

// publisher is what pub needs of a session or REST client.
type publisher func(ctx context.Context, subject string, data []byte, o *httpmq.PublishOptions) (httpmq.PubAck, error)

func (a *app) pubCommand() *ffcli.Command {
	var (
		count   int
		msgID   string
		headers stringList
		rest    bool
		batch   int
		verbose bool
	)
	return a.command("", leaf{name: "pub", args: "SUBJECT [MESSAGE]", help: "publish messages (the argument, or each line of stdin)",
		long: strings.TrimSpace(`
With MESSAGE, publishes it --count times. Without, publishes each line of
standard input as one message (at most --count lines when it is given).
Messages go over one WebSocket session, or the REST dataplane with --rest;
with --rest --batch N, N messages per request (POST /v1/data/publish).
Prints one summary line at the end (-v, --verbose: also a line per message).
Stops at the first message that fails; with --batch, after its request.`),
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&count, "count", 0, "how many messages (default: 1 with MESSAGE, every line of stdin without)")
			fs.StringVar(&msgID, "msg-id", "", "message `id` for de-duplication (with --count > 1, -N is appended)")
			fs.Var(&headers, "header", "message header `Name:value` (repeatable)")
			fs.BoolVar(&rest, "rest", false, "publish over the REST dataplane instead of a session")
			fs.IntVar(&batch, "batch", 0, "with --rest: publish up to `N` messages per request (the server's default limit is 1000)")
			fs.BoolVar(&verbose, "verbose", false, "also print each message's stream and sequence as it is stored")
		},
		run: func(ctx context.Context, cf *clientFlags, pos []string) error {
			hdr, err := parseHeaders(headers)
			if err != nil {
				return usageError{err}
			}
			if batch < 0 || batch > 0 && !rest {
				return usageError{errors.New("--batch takes a positive number of messages, with --rest")}
			}
			pub, closeFn, err := a.publisher(ctx, cf, rest)
			if err != nil {
				return err
			}
			defer closeFn()
			sum := pubSummary{Subject: pos[0]}
			stored := func(size int, ack httpmq.PubAck) error {
				sum.add(ack)
				if verbose {
					return a.printAck(cf, pos[0], size, ack)
				}
				return nil
			}
			var (
				n       int // messages read
				pending []httpmq.BatchMessage
				batches *httpmq.DataClient // with --batch
			)
			if batch > 0 {
				batches = cf.data()
			}
			flush := func() error {
				if len(pending) == 0 {
					return nil
				}
				msgs, first := pending, n-len(pending)+1
				pending = nil
				rctx, cancel := cf.ctx(ctx)
				defer cancel()
				results, err := batches.PublishBatch(rctx, msgs)
				if err != nil {
					return fmt.Errorf("messages %d-%d: %w", first, n, err)
				}
				var failed error
				for i, r := range results {
					if r.Err != nil {
						failed = cmp.Or(failed, fmt.Errorf("message %d: %w", first+i, r.Err))
					} else if err := stored(len(msgs[i].Data), r.PubAck); err != nil {
						return err
					}
				}
				return failed
			}
			send := func(data []byte) error {
				n++
				o := &httpmq.PublishOptions{Header: hdr, MsgID: msgID}
				if msgID != "" && (count > 1 || len(pos) == 1) {
					o.MsgID = fmt.Sprintf("%s-%d", msgID, n)
				}
				if batch > 0 {
					pending = append(pending, httpmq.BatchMessage{Subject: pos[0], Data: data, MsgID: o.MsgID, Header: o.Header})
					if len(pending) == batch {
						return flush()
					}
					return nil
				}
				rctx, cancel := cf.ctx(ctx)
				defer cancel()
				ack, err := pub(rctx, pos[0], data, o)
				if err != nil {
					return fmt.Errorf("message %d: %w", n, err)
				}
				return stored(len(data), ack)
			}
			if len(pos) == 2 {
				for range max(count, 1) {
					if err = send([]byte(pos[1])); err != nil {
						break
					}
				}
			} else {
				sc := bufio.NewScanner(a.input())
				sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
				for err == nil && (count == 0 || n < count) && sc.Scan() {
					err = send(append([]byte(nil), sc.Bytes()...))
				}
				if err == nil {
					err = sc.Err()
				}
			}
			if err == nil {
				err = flush()
			}
			// What was published, even when a message then failed.
			if perr := a.printSummary(cf, sum); err == nil {
				err = perr
			}
			return err
		},
	})
}

// pubSummary is what one pub command published.
type pubSummary struct {
	Subject    string `json:"subject"`
	Stream     string `json:"stream,omitempty"`
	Published  int    `json:"published"`
	FirstSeq   uint64 `json:"first_seq,omitempty"`
	LastSeq    uint64 `json:"last_seq,omitempty"`
	Duplicates int    `json:"duplicates,omitempty"`
}

func (s *pubSummary) add(ack httpmq.PubAck) {
	s.Published++
	s.Stream = ack.Stream
	if ack.Duplicate {
		s.Duplicates++
	}
	if s.FirstSeq == 0 || ack.Sequence < s.FirstSeq {
		s.FirstSeq = ack.Sequence
	}
	s.LastSeq = max(s.LastSeq, ack.Sequence)
}

// printSummary prints "published 100 messages to orders.new (stream
// orders, seq 1-100)", or the summary as JSON with --json.
func (a *app) printSummary(cf *clientFlags, s pubSummary) error {
	if cf.json {
		return writeJSONLine(a.stdout, s)
	}
	noun := "messages"
	if s.Published == 1 {
		noun = "message"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "published %d %s to %s", s.Published, noun, s.Subject)
	if s.Published > 0 {
		seq := fmt.Sprint(s.FirstSeq)
		if s.LastSeq != s.FirstSeq {
			seq += fmt.Sprintf("-%d", s.LastSeq)
		}
		fmt.Fprintf(&b, " (stream %s, seq %s", s.Stream, seq)
		if s.Duplicates > 0 {
			fmt.Fprintf(&b, ", %d duplicates", s.Duplicates)
		}
		b.WriteString(")")
	}
	_, err := fmt.Fprintln(a.stdout, b.String())
	return err
}

// publisher returns the session or REST client pub publishes with.
func (a *app) publisher(ctx context.Context, cf *clientFlags, rest bool) (publisher, func(), error) {
	if rest {
		d := cf.data()
		return d.Publish, d.CloseIdleConnections, nil
	}
	s, err := a.dial(ctx, cf)
	if err != nil {
		return nil, nil, err
	}
	return s.Publish, func() { _ = s.Close() }, nil
}

func (a *app) dial(ctx context.Context, cf *clientFlags) (*httpmq.Session, error) {
	dctx, cancel := cf.ctx(ctx)
	defer cancel()
	return httpmq.Dial(dctx, cf.dataURL, &httpmq.SessionOptions{
		TLSConfig: cf.tls,
		Header:    cf.header(),
		OnEvent: func(e httpmq.Event) {
			// A session that ends for good ends the command, which
			// reports why: not twice.
			if e.Kind != httpmq.EventResubscribed && e.Kind != httpmq.EventClosed {
				fmt.Fprintf(a.stderr, "httpmq: session %s %s %s\n", e.Kind, e.URL, cliError(e.Err))
			}
		},
	})
}

func parseHeaders(list []string) (httpmq.Header, error) {
	if len(list) == 0 {
		return nil, nil
	}
	h := httpmq.Header{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--header %q: want Name:value", kv)
		}
		k = strings.TrimSpace(k)
		h[k] = append(h[k], strings.TrimSpace(v))
	}
	return h, nil
}

func (a *app) printAck(cf *clientFlags, subject string, size int, ack httpmq.PubAck) error {
	if cf.json {
		return writeJSONLine(a.stdout, map[string]any{"subject": subject, "stream": ack.Stream, "sequence": ack.Sequence, "duplicate": ack.Duplicate})
	}
	dup := ""
	if ack.Duplicate {
		dup = " (duplicate)"
	}
	_, err := fmt.Fprintf(a.stdout, "published %d bytes to %s: stream %s sequence %d%s\n", size, subject, ack.Stream, ack.Sequence, dup)
	return err
}

func (a *app) subCommand() *ffcli.Command {
	var (
		count       int
		noAck       bool
		filter      string
		group       string
		maxInflight int
		rest        bool
		subject     string
		fromSeq     uint64
		since       time.Duration
		last        int
	)
	return a.command("", leaf{name: "sub", args: "[STREAM] [CONSUMER]", help: "receive a consumer's messages (print and acknowledge them), or a subject's live",
		long: strings.TrimSpace(`
Prints each message as it arrives and acknowledges it once printed (unless
--no-ack: JetStream then redelivers it after the consumer's ack wait).
Runs until --count messages were received, or until interrupted. Uses one
WebSocket session (which reconnects by itself), or the REST dataplane with
--rest.

With --subject instead of STREAM CONSUMER, listens to a subject live (no
consumer, nothing to acknowledge), first recovering stored messages with
--from-seq, --since or --last when a stream captures the subject; after a
reconnect the session resumes after the last message printed.`),
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&count, "count", 0, "stop after this many messages (0: run until interrupted)")
			fs.BoolVar(&noAck, "no-ack", false, "do not acknowledge the messages")
			fs.StringVar(&filter, "filter", "", "`subject` the consumer's filter must be covered by")
			fs.StringVar(&group, "group", "", "delivery group of a push consumer")
			fs.IntVar(&maxInflight, "max-inflight", 64, "most unacknowledged messages at once")
			fs.BoolVar(&rest, "rest", false, "subscribe over the REST dataplane instead of a session")
			fs.StringVar(&subject, "subject", "", "listen to this `subject` live (wildcards allowed) instead of a consumer")
			fs.Uint64Var(&fromSeq, "from-seq", 0, "with --subject: recover from this stream `sequence` on")
			fs.DurationVar(&since, "since", 0, "with --subject: recover the messages stored this long ago or later")
			fs.IntVar(&last, "last", 0, "with --subject: recover the last `N` messages")
		},
		run: func(ctx context.Context, cf *clientFlags, pos []string) error {
			if subject != "" || len(pos) != 2 {
				if subject == "" || len(pos) != 0 || rest {
					return usageError{errors.New("usage: httpmq sub [flags] STREAM CONSUMER, or httpmq sub --subject SUBJECT [flags] (sessions only)")}
				}
				lo := &httpmq.LiveOptions{FromSeq: fromSeq, Last: last}
				if since > 0 {
					lo.Since = time.Now().Add(-since)
				}
				return a.listen(ctx, cf, subject, lo, count)
			}
			opts := &httpmq.SubscribeOptions{Filter: filter, Group: group, MaxInflight: maxInflight}
			var sub *httpmq.Subscription
			if rest {
				d := cf.data()
				defer d.CloseIdleConnections()
				var err error
				if sub, err = d.Subscribe(ctx, pos[0], pos[1], opts); err != nil {
					return err
				}
			} else {
				s, err := a.dial(ctx, cf)
				if err != nil {
					return err
				}
				defer s.Close()
				sctx, cancel := cf.ctx(ctx)
				sub, err = s.Subscribe(sctx, pos[0], pos[1], opts)
				cancel()
				if err != nil {
					return err
				}
			}
			defer sub.Close()
			for n := 0; count == 0 || n < count; n++ {
				m, err := sub.Next(ctx)
				if err != nil {
					if ctx.Err() != nil {
						return nil // interrupted
					}
					return err
				}
				if err := a.printMessage(cf, m); err != nil {
					return err
				}
				if noAck {
					continue
				}
				actx, cancel := cf.ctx(ctx)
				err = m.Ack(actx)
				cancel()
				if err != nil {
					return fmt.Errorf("ack stream sequence %d: %w", m.StreamSeq, err)
				}
			}
			return nil
		},
	})
}

// listen prints a subject's messages live until count were printed or
// the context ends.
func (a *app) listen(ctx context.Context, cf *clientFlags, subject string, lo *httpmq.LiveOptions, count int) error {
	s, err := a.dial(ctx, cf)
	if err != nil {
		return err
	}
	defer s.Close()
	sctx, cancel := cf.ctx(ctx)
	sub, err := s.Listen(sctx, subject, lo)
	cancel()
	if err != nil {
		return err
	}
	defer sub.Close()
	if (lo.FromSeq > 0 || !lo.Since.IsZero() || lo.Last > 0) && !sub.Recovered() {
		fmt.Fprintln(a.stderr, "httpmq: not everything asked for could be recovered (discarded, or no stream captures the subject)")
	}
	for n := 0; count == 0 || n < count; n++ {
		m, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted
			}
			return err
		}
		if err := a.printMessage(cf, m); err != nil {
			return err
		}
	}
	return nil
}

func (a *app) printMessage(cf *clientFlags, m *httpmq.Message) error {
	if cf.json {
		v := map[string]any{
			"subject": m.Subject, "stream": m.Stream, "consumer": m.Consumer,
			"stream_seq": m.StreamSeq, "consumer_seq": m.ConsumerSeq, "deliveries": m.Deliveries,
			"pending": m.Pending, "time": m.Time.UTC().Format(time.RFC3339Nano),
		}
		if len(m.Header) > 0 {
			v["headers"] = m.Header
		}
		if utf8.Valid(m.Data) {
			v["data"] = string(m.Data)
		} else {
			v["data_b64"] = m.Data // encoding/json writes []byte as base64
		}
		return writeJSONLine(a.stdout, v)
	}
	redelivered := ""
	if m.Deliveries > 1 {
		redelivered = fmt.Sprintf(" (delivery %d)", m.Deliveries)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[#%d] %s%s\n", m.StreamSeq, m.Subject, redelivered)
	for k, vs := range m.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	if utf8.Valid(m.Data) {
		b.Write(m.Data)
	} else {
		fmt.Fprintf(&b, "<%d bytes of binary data>", len(m.Data))
	}
	b.WriteString("\n\n")
	_, err := fmt.Fprint(a.stdout, b.String())
	return err
}
