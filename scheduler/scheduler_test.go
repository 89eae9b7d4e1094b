package scheduler

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
)

func TestFirstFrom(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 1, 0, 0, time.UTC)
	at := func(min, sec int) time.Time { return time.Date(2024, 5, 1, 12, min, sec, 0, time.UTC) }
	ptr := func(t time.Time) *time.Time { return &t }
	cases := []struct {
		desc string
		sc   filefleet.Schedule
		want time.Time
	}{
		{"unchanged for long, never run: LateLimit ago", filefleet.Schedule{UpdatedAt: at(-50, 0)}, at(0, 0)},
		{"edited within LateLimit: its edit", filefleet.Schedule{UpdatedAt: at(0, 30)}, at(0, 30)},
		{"ran within LateLimit: its last tick", filefleet.Schedule{UpdatedAt: at(-50, 0), LastRunAt: ptr(at(0, 40))}, at(0, 40)},
		{"ran long ago: LateLimit ago", filefleet.Schedule{UpdatedAt: at(-50, 0), LastRunAt: ptr(at(-5, 0))}, at(0, 0)},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, firstFrom(&tc.sc, now, time.Minute), tc.desc)
	}
}

// TestFirstTickAfterEdit: a schedule edited at 12:00:30 does not fire the tick of 12:00.
func TestFirstTickAfterEdit(t *testing.T) {
	sched, _, err := Parse("* * * * *", "UTC")
	require.NoError(t, err)
	edited := time.Date(2024, 5, 1, 12, 0, 30, 0, time.UTC)
	sc := &filefleet.Schedule{UpdatedAt: edited}
	require.Equal(t, edited.Add(30*time.Second), sched.Next(firstFrom(sc, edited.Add(time.Second), time.Minute)))
}

func TestPassing(t *testing.T) {
	for code, want := range map[string]bool{
		filefleet.EUNAVAILABLE: true, filefleet.EINTERNAL: true, filefleet.ERATELIMITED: true,
		filefleet.EINVALID: false, filefleet.EUNPROCESSABLE: false, filefleet.ENOTFOUND: false,
		filefleet.EFORBIDDEN: false, filefleet.ECONFLICT: false,
	} {
		require.Equal(t, want, passing(filefleet.Errorf(code, "x")), code)
	}
	require.True(t, passing(errors.New("connection refused")), "an uncoded error is internal")
}

// TestEveryAligned: two schedulers that load "@every 1h" at different times agree on its
// ticks, on the hour.
func TestEveryAligned(t *testing.T) {
	s := &filefleet.Schedule{Cron: "@every 1h", Timezone: "America/New_York"}
	a := Next(s, time.Date(2024, 1, 1, 10, 0, 3, 0, time.UTC))
	b := Next(s, time.Date(2024, 1, 1, 10, 59, 17, 0, time.UTC))
	require.Equal(t, time.Date(2024, 1, 1, 11, 0, 0, 0, time.UTC), *a)
	require.Equal(t, *a, *b)
	s.Cron = "@every 90s"
	require.Equal(t, time.Date(2024, 1, 1, 10, 1, 30, 0, time.UTC), *Next(s, time.Date(2024, 1, 1, 10, 0, 3, 0, time.UTC)))
}
