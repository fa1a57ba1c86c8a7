package bridge

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
)

// TestCheckFilters: a filter is refused only when it can match nothing
// the stream captures; streams fed by others are never judged.
func TestCheckFilters(t *testing.T) {
	plain := jetstream.StreamConfig{Name: "S", Subjects: []string{"orders.>", "audit.*.log"}}
	sourced := plain
	sourced.Sources = []*jetstream.StreamSource{{Name: "OTHER"}}
	mirror := jetstream.StreamConfig{Name: "M", Mirror: &jetstream.StreamSource{Name: "OTHER"}}
	transformed := plain
	transformed.SubjectTransform = &jetstream.SubjectTransformConfig{Source: "orders.>", Destination: "o.>"}
	tests := []struct {
		name    string
		stream  jetstream.StreamConfig
		filters []string
		ok      bool
	}{
		{"narrower", plain, []string{"orders.eu.*"}, true},
		{"equal", plain, []string{"orders.>"}, true},
		{"wider", plain, []string{"audit.>"}, true},
		{"partial overlap", plain, []string{"audit.x.*"}, true},
		{"literal inside", plain, []string{"audit.x.log"}, true},
		{"everything", plain, []string{">"}, true},
		{"all of several", plain, []string{"orders.eu", "audit.x.log"}, true},
		{"outside", plain, []string{"payments.>"}, false},
		{"too short", plain, []string{"orders"}, false},
		{"too long", plain, []string{"audit.x.log.y"}, false},
		{"one of several outside", plain, []string{"orders.eu", "payments.eu"}, false},
		{"sourced stream", sourced, []string{"payments.>"}, true},
		{"mirror", mirror, []string{"anything"}, true},
		{"transformed subjects", transformed, []string{"o.eu"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkFilters(tc.stream, tc.filters)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrFilterNotInStream)
			}
		})
	}
}
