package gosdk_test

import (
	"context"
	"fmt"

	httpmq "github.com/httpmq/httpmq/clients/go"
)

// The example of clients/go/README.md, verbatim (TestREADMEExample checks
// it is and runs it).

// consumeOne defines a stream and a pull consumer, publishes an order over a
// session and receives, then acknowledges it. token supplies credentials
// (nil when the server has no authentication); sessions renew JWTs by it.
func consumeOne(ctx context.Context, adminURL, dataURL string, token httpmq.TokenFunc) error {
	admin := httpmq.NewAdminClient(adminURL, &httpmq.ClientOptions{Token: token})
	if _, err := admin.CreateStream(ctx, httpmq.NewStream{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		return err
	}
	if _, err := admin.CreateConsumer(ctx, "ORDERS", httpmq.NewConsumer{Name: "shipping", Mode: httpmq.ModePull}); err != nil {
		return err
	}
	s, err := httpmq.Dial(ctx, dataURL, &httpmq.SessionOptions{Token: token})
	if err != nil {
		return err
	}
	defer s.Close()
	sub, err := s.Subscribe(ctx, "ORDERS", "shipping", nil)
	if err != nil {
		return err
	}
	if _, err := s.Publish(ctx, "orders.created", []byte(`{"id":42}`), nil); err != nil {
		return err
	}
	m, err := sub.Next(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s\n", m.Subject, m.Data)
	return m.Ack(ctx) // or Nak, Term, InProgress
}
