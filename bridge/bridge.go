package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultRequestTimeout bounds every JetStream API call when
// [Config.RequestTimeout] is zero.
const DefaultRequestTimeout = 5 * time.Second

// Config says how to reach NATS. The zero value is not usable: set URLs or
// InProcess.
type Config struct {
	// URLs of NATS servers. Ignored when InProcess is set.
	URLs []string
	// InProcess connects to an embedded server without a socket.
	InProcess *Embedded
	// Name identifies this connection in NATS monitoring. Default "httpmq".
	Name string
	// CredsFile is a NATS credentials (JWT + nkey seed) file.
	CredsFile string
	// User and Password authenticate with user/password.
	User, Password string
	// Token authenticates with a token.
	Token string
	// TLS secures the connection; nil means plain unless a URL says tls://.
	TLS *tls.Config
	// RequestTimeout bounds each JetStream API request, publish and
	// confirmed ack. Default [DefaultRequestTimeout].
	RequestTimeout time.Duration
	// Logger receives connection events. Default slog.Default().
	Logger *slog.Logger
	// OnStateChange, when set, is told each change of the connection's
	// state (for metrics). It is called from nats.go's callback
	// goroutine, one call at a time: return quickly.
	OnStateChange func(ConnState)
}

// ConnState is the state of the connection to NATS, as
// [Config.OnStateChange] reports it.
type ConnState string

// The connection states.
const (
	// ConnConnecting: not connected yet; with URLs, Connect returned and
	// keeps trying in the background.
	ConnConnecting ConnState = "connecting"
	// ConnConnected: connected (at first, or again after a loss).
	ConnConnected ConnState = "connected"
	// ConnReconnecting: the connection was lost; reconnecting.
	ConnReconnecting ConnState = "reconnecting"
	// ConnClosed: closed by [Bridge.Close]; final.
	ConnClosed ConnState = "closed"
)

// Bridge is a connection to NATS JetStream. It is safe for concurrent use.
type Bridge struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	acks    *pubAcks // PublishAsync's publishes awaiting their ack
	log     *slog.Logger
	timeout time.Duration
	d       *dispatcher
	inbox   string // this bridge's pull requests are answered under it
	id      string // names this instance in its acks' reply subjects
	ackIDs  atomic.Uint64
	subIDs  atomic.Uint64 // names subscriptions' pull request inboxes

	wmu     sync.Mutex
	watches map[consumerKey]*consumerWatch
	fmu     sync.Mutex
	feeds   map[string]*feed // live subscriptions' feeds, by subject
	wg      sync.WaitGroup   // goroutines of closing subscriptions and of checks
	quit    chan struct{}    // closed by Close
	quitted sync.Once
}

// Connect dials NATS and prepares JetStream. Reconnects are automatic,
// unlimited and logged; while disconnected, calls fail with
// [ErrUnavailable] within the request timeout.
//
// With URLs, a NATS that cannot be reached yet is not an error: Connect
// returns a Bridge that keeps trying in the background, whose [Bridge.Ready]
// fails until it is connected (so a service can start before NATS, as
// orchestrators start them). It fails at once only for a configuration
// nats.go refuses (a bad URL, an unreadable credentials file).
func Connect(ctx context.Context, cfg Config) (*Bridge, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	name := cfg.Name
	if name == "" {
		name = "httpmq"
	}
	state := cfg.OnStateChange
	if state == nil {
		state = func(ConnState) {}
	}
	// Only the first failed attempt to reach a NATS that was never
	// connected is a warning; the other attempts are debug lines.
	var connected, warned atomic.Bool
	var reconnected atomic.Pointer[Bridge] // set once the bridge exists
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		// An embedded server is there already; an external one may not
		// be up yet (see Connect's doc).
		nats.RetryOnFailedConnect(cfg.InProcess == nil),
		nats.Timeout(timeout),
		nats.ConnectHandler(func(nc *nats.Conn) {
			connected.Store(true)
			log.Info("connected to NATS", "server", nc.ConnectedUrlRedacted(), "in_process", cfg.InProcess != nil)
			state(ConnConnected)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: we closed it
				log.Warn("NATS disconnected", "err", err)
				state(ConnReconnecting)
			}
			if b := reconnected.Load(); b != nil {
				b.acks.failAll(fmt.Errorf("%w: the connection to NATS was lost before the publish was acknowledged", ErrUnavailable))
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS reconnected", "server", nc.ConnectedUrlRedacted())
			state(ConnConnected)
			if b := reconnected.Load(); b != nil {
				b.reconnected()
			}
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			if !connected.Load() && warned.CompareAndSwap(false, true) {
				log.Warn("NATS is not reachable yet; retrying in the background (not ready until connected)", "err", err)
				return
			}
			log.Debug("NATS connection attempt failed", "err", err)
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			log.Debug("NATS connection closed")
			state(ConnClosed)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("NATS async error", "subject", subj, "err", err)
			if b := reconnected.Load(); b != nil && sub != nil && errors.Is(err, nats.ErrSlowConsumer) {
				b.dropped(sub)
			}
		}),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.TLS != nil {
		opts = append(opts, nats.Secure(cfg.TLS))
	}
	url := strings.Join(cfg.URLs, ",")
	if cfg.InProcess != nil {
		opts = append(opts, nats.InProcessServer(cfg.InProcess.srv))
		url = cfg.InProcess.srv.ClientURL()
	}
	if url == "" {
		return nil, fmt.Errorf("%w: no NATS URL and no embedded server", ErrInvalidConfig)
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	state(ConnConnecting)
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(url, opts...)
		done <- result{nc, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, fmt.Errorf("%w: connect: %v", ErrUnavailable, ctx.Err())
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: connect %s: %v", ErrUnavailable, redact(url), r.err)
	}
	js, err := jetstream.New(r.nc, jetstream.WithDefaultTimeout(timeout))
	if err != nil {
		r.nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	id := nats.NewInbox()[len(nats.InboxPrefix):]
	b := &Bridge{nc: r.nc, js: js, log: log, timeout: timeout, d: newDispatcher(),
		inbox: nats.InboxPrefix + "httpmq." + id, id: id, watches: map[consumerKey]*consumerWatch{}, feeds: map[string]*feed{}, quit: make(chan struct{})}
	b.acks, err = newPubAcks(r.nc, b.inbox+".p.", timeout, b.asyncFailed)
	if err != nil {
		r.nc.Close()
		b.d.close()
		return nil, fmt.Errorf("%w: subscribe to publish acks: %w", ErrUnavailable, err)
	}
	reconnected.Store(b)
	return b, nil
}

func redact(url string) string {
	var parts []string
	for _, u := range strings.Split(url, ",") {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if i := strings.Index(u, "://"); i >= 0 && i < at {
				u = u[:i+3] + "***" + u[at:]
			}
		}
		parts = append(parts, u)
	}
	return strings.Join(parts, ",")
}

// Close ends every subscription with [ErrClosed] and closes the
// connection. Close is idempotent.
func (b *Bridge) Close() {
	b.quitted.Do(func() { close(b.quit) })
	b.closeFeeds(fmt.Errorf("%w: the bridge closed", ErrClosed))
	b.wmu.Lock()
	watches := b.watches
	b.watches = map[consumerKey]*consumerWatch{}
	b.wmu.Unlock()
	for _, w := range watches {
		w.stop()
		w.mu.Lock()
		members := make([]*Subscription, 0, len(w.members))
		for s := range w.members {
			members = append(members, s)
		}
		w.mu.Unlock()
		for _, s := range members {
			s.end(fmt.Errorf("%w: the bridge closed", ErrClosed))
		}
	}
	b.acks.close()
	b.nc.Close()
	b.wg.Wait()
	b.d.close()
}

// dropped reconciles what a subscription lost to a full dispatch queue
// (nats.go drops a slow subscriber's messages). A watch whose acks or
// advisories may be gone learns the consumer's state from JetStream;
// otherwise deliveries may be gone, so every subscription asks again for
// what its pull requests asked (JetStream delivers the lost messages
// again after their ack wait).
func (b *Bridge) dropped(sub *nats.Subscription) {
	b.wmu.Lock()
	var watch *consumerWatch
	var all []*Subscription
	for _, w := range b.watches {
		if slices.Contains(w.subs, sub) {
			watch = w
		}
		w.mu.Lock()
		for s := range w.members {
			all = append(all, s)
		}
		w.mu.Unlock()
	}
	b.wmu.Unlock()
	if watch != nil {
		watch.reconcile()
		return
	}
	for _, s := range all {
		s.lost()
	}
}

// reconnected asks again for what every pull request asked: requests do
// not survive a new connection.
func (b *Bridge) reconnected() {
	b.wmu.Lock()
	var subs []*Subscription
	for _, w := range b.watches {
		w.mu.Lock()
		for s := range w.members {
			subs = append(subs, s)
		}
		w.mu.Unlock()
	}
	b.wmu.Unlock()
	for _, s := range subs {
		s.lost()
	}
}

// RequestTimeout is the bound on each JetStream request.
func (b *Bridge) RequestTimeout() time.Duration { return b.timeout }

// Ready reports whether NATS is connected and JetStream answers, within
// the request timeout (or ctx, if sooner). It never blocks longer.
func (b *Bridge) Ready(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return fmt.Errorf("%w: %s", ErrUnavailable, strings.ToLower(b.nc.Status().String()))
	}
	ctx, cancel := b.ctx(ctx)
	defer cancel()
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return classify(err)
	}
	return nil
}

// MaxPayload is the largest message NATS accepts, in bytes (headers
// included). Before the first connection, when the server has not said
// yet, it is NATS's default, 1 MiB.
func (b *Bridge) MaxPayload() int64 {
	if n := b.nc.MaxPayload(); n > 0 {
		return n
	}
	return defaultMaxPayload
}

// defaultMaxPayload is NATS's default max_payload.
const defaultMaxPayload = 1 << 20

// ctx bounds a request by the configured timeout.
func (b *Bridge) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.timeout)
}
