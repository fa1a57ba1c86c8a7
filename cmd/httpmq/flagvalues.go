package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// levelFlag is a flag.Value for a log level: debug, info, warn or error.
type levelFlag struct{ v *slog.LevelVar }

func (l levelFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.ToLower(l.v.Level().String())
}

func (l levelFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "debug":
		l.v.Set(slog.LevelDebug)
	case "info":
		l.v.Set(slog.LevelInfo)
	case "warn", "warning":
		l.v.Set(slog.LevelWarn)
	case "error":
		l.v.Set(slog.LevelError)
	default:
		return fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
	}
	return nil
}

// stringList is a repeatable flag; each value may also be a
// comma-separated list. Empty items are dropped.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

// byteSize is a size in bytes, written plainly or with a KiB, MiB or GiB
// suffix ("2MiB", "512KiB").
type byteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

func (b *byteSize) String() string {
	for _, u := range byteUnits {
		if *b != 0 && int64(*b)%u.mult == 0 && u.mult > 1 {
			return fmt.Sprintf("%d%s", int64(*b)/u.mult, u.suffix)
		}
	}
	return strconv.FormatInt(int64(*b), 10)
}

func (b *byteSize) Set(orig string) error {
	s := strings.TrimSpace(orig)
	mult := int64(1)
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("want a size in bytes like 1048576, 512KiB or 2MiB, got %q", orig)
	}
	*b = byteSize(n * mult)
	return nil
}
