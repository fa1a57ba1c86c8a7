package gosdk_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	httpmq "github.com/httpmq/httpmq/clients/go"
	"github.com/httpmq/httpmq/protocol"
)

func TestAdminClient(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			srv := startServer(t, tr)
			a := srv.admin()
			c := ctx(t)

			require.NoError(t, a.Alive(c))
			require.NoError(t, a.Ready(c))

			si, err := a.CreateStream(c, httpmq.NewStream{
				Name: "orders", Subjects: []string{"orders.>"},
				StreamLimits:   httpmq.StreamLimits{MaxAge: httpmq.Ptr(time.Hour), MaxMsgs: httpmq.Ptr(int64(1000))},
				StreamSettings: httpmq.StreamSettings{Description: httpmq.Ptr("all orders")},
			})
			require.NoError(t, err)
			assert.Equal(t, "orders", si.Config.Name)
			assert.Equal(t, time.Hour, si.Config.MaxAge)
			assert.EqualValues(t, 1000, si.Config.MaxMsgs)
			assert.EqualValues(t, -1, si.Config.MaxBytes)
			assert.Equal(t, "all orders", si.Config.Description)
			assert.False(t, si.Created.IsZero())

			all, err := a.Streams(c)
			require.NoError(t, err)
			assert.Contains(t, all, "orders")

			si, err = a.UpdateStream(c, "orders", httpmq.StreamUpdate{StreamLimits: httpmq.StreamLimits{MaxBytes: httpmq.Ptr(int64(1 << 20))}})
			require.NoError(t, err)
			assert.EqualValues(t, 1<<20, si.Config.MaxBytes)
			assert.EqualValues(t, 1000, si.Config.MaxMsgs, "absent fields stay")

			si, err = a.SetStreamSubjects(c, "orders", []string{"orders.>", "returns.>"})
			require.NoError(t, err)
			assert.Equal(t, []string{"orders.>", "returns.>"}, si.Config.Subjects)

			si, err = a.SetStreamLimits(c, "orders", httpmq.StreamLimits{MaxMsgsPerSubject: httpmq.Ptr(int64(10))})
			require.NoError(t, err)
			assert.EqualValues(t, 10, si.Config.MaxMsgsPerSubject)

			_, err = srv.data().Publish(c, "orders.eu", []byte("one"), &httpmq.PublishOptions{Header: httpmq.Header{"X-Trace": {"t1"}}})
			require.NoError(t, err)
			_, err = srv.data().Publish(c, "returns.eu", []byte("two"), nil)
			require.NoError(t, err)

			si, err = a.Stream(c, "orders")
			require.NoError(t, err)
			assert.EqualValues(t, 2, si.State.Messages)

			m, err := a.Message(c, "orders", 1)
			require.NoError(t, err)
			assert.Equal(t, "orders.eu", m.Subject)
			assert.Equal(t, []byte("one"), m.Data)
			assert.Equal(t, "t1", m.Header.Get("X-Trace"))

			ci, err := a.CreateConsumer(c, "orders", httpmq.NewConsumer{
				Name: "worker", Mode: httpmq.ModePush, FilterSubject: "orders.>",
				MaxInflight: httpmq.Ptr(4), AckWait: httpmq.Ptr(5 * time.Second),
			})
			require.NoError(t, err)
			assert.Equal(t, "worker", ci.Name)
			assert.Equal(t, httpmq.ModePush, ci.Config.Mode)
			assert.Equal(t, 4, ci.Config.MaxAckPending)
			assert.Equal(t, 5*time.Second, ci.Config.AckWait)
			_, err = a.CreateConsumer(c, "orders", httpmq.NewConsumer{Name: "puller", Mode: httpmq.ModePull})
			require.NoError(t, err)

			cs, err := a.Consumers(c, "orders")
			require.NoError(t, err)
			assert.Len(t, cs, 2)
			ci, err = a.Consumer(c, "orders", "puller")
			require.NoError(t, err)
			assert.Equal(t, httpmq.ModePull, ci.Config.Mode)
			assert.EqualValues(t, 2, ci.NumPending)

			require.NoError(t, a.DeleteConsumer(c, "orders", "puller"))
			_, err = a.Consumer(c, "orders", "puller")
			assertAPIError(t, err, http.StatusNotFound, protocol.CodeConsumerNotFound)

			n, err := a.PurgeStream(c, "orders", httpmq.Purge{Subject: "returns.>"})
			require.NoError(t, err)
			assert.EqualValues(t, 1, n)
			n, err = a.PurgeStream(c, "orders", httpmq.Purge{})
			require.NoError(t, err)
			assert.EqualValues(t, 1, n)

			require.NoError(t, a.DeleteStream(c, "orders"))
			_, err = a.Stream(c, "orders")
			assertAPIError(t, err, http.StatusNotFound, protocol.CodeStreamNotFound)
		})
	}
}

func TestAdminErrors(t *testing.T) {
	srv := startServer(t, http1)
	a := srv.admin()
	c := ctx(t)
	_, err := a.CreateStream(c, httpmq.NewStream{Name: "a.b"})
	assertAPIError(t, err, http.StatusBadRequest, protocol.CodeInvalidName)

	_, err = a.CreateStream(c, httpmq.NewStream{Name: "s", Subjects: []string{"x"}})
	require.NoError(t, err)
	_, err = a.CreateStream(c, httpmq.NewStream{Name: "s", Subjects: []string{"y"}})
	assertAPIError(t, err, http.StatusConflict, protocol.CodeStreamExists)

	_, err = a.CreateConsumer(c, "s", httpmq.NewConsumer{Name: "c"})
	assertAPIError(t, err, http.StatusBadRequest, protocol.CodeBadRequest)
	_, err = a.Message(c, "s", 7)
	assertAPIError(t, err, http.StatusNotFound, protocol.CodeMessageNotFound)

	// errors.Is works with a code, too.
	assert.ErrorIs(t, err, &protocol.Error{Code: protocol.CodeMessageNotFound})
	assert.NotErrorIs(t, err, &protocol.Error{Code: protocol.CodeStreamNotFound})

	// A request id chosen by the caller comes back in the error.
	withID := httpmq.NewAdminClient(srv.URL, &httpmq.ClientOptions{
		HTTPClient: srv.client, Header: http.Header{"Httpmq-Request-Id": {"req-42"}},
	})
	_, err = withID.Stream(c, "nope")
	apiErr := assertAPIError(t, err, http.StatusNotFound, protocol.CodeStreamNotFound)
	assert.Equal(t, "req-42", apiErr.RequestID)
	assert.Contains(t, apiErr.Error(), "req-42")

	// Not an httpmq at all.
	other := httpmq.NewAdminClient(srv.URL+"/nothing-here", &httpmq.ClientOptions{HTTPClient: srv.client})
	_, err = other.Streams(c)
	assertAPIError(t, err, http.StatusNotFound, protocol.CodeNotFound)
}

func assertAPIError(t *testing.T, err error, status int, code protocol.Code) *httpmq.APIError {
	t.Helper()
	var apiErr *httpmq.APIError
	require.True(t, errors.As(err, &apiErr), "want an *APIError, got %T %v", err, err)
	assert.Equal(t, status, apiErr.Status, "%v", err)
	assert.Equal(t, code, apiErr.Code, "%v", err)
	assert.NotEmpty(t, apiErr.Message)
	return apiErr
}
