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

// ticks returns the n ticks of spec in tz after from.
func ticks(t *testing.T, spec, tz string, from time.Time, n int) []time.Time {
	t.Helper()
	sched, loc, err := Parse(spec, tz)
	require.NoError(t, err)
	out := make([]time.Time, n)
	for i, cur := 0, from.In(loc); i < n; i++ {
		cur = sched.Next(cur)
		out[i] = cur.UTC()
	}
	return out
}

// TestDaylightSaving: on the day New York falls back (2024-11-03, 02:00 EDT -> 01:00 EST),
// "30 1 * * *" fires once; on the day it springs forward (2024-03-10), 02:30 does not occur
// and robfig/cron skips that day.
func TestDaylightSaving(t *testing.T) {
	utc := func(mon time.Month, day, hour, min int) time.Time {
		return time.Date(2024, mon, day, hour, min, 0, 0, time.UTC)
	}
	require.Equal(t, []time.Time{utc(11, 2, 5, 30), utc(11, 3, 5, 30), utc(11, 4, 6, 30)},
		ticks(t, "30 1 * * *", "America/New_York", utc(11, 2, 0, 0), 3), "2024-11-03: 01:30 EDT only, not 01:30 EST again")
	require.Equal(t, []time.Time{utc(11, 3, 5, 59), utc(11, 3, 6, 0), utc(11, 3, 6, 1)},
		ticks(t, "* * * * *", "America/New_York", utc(11, 3, 5, 58), 3), "a tick a minute goes on through the repeated hour")
	require.Equal(t, []time.Time{utc(3, 9, 7, 30), utc(3, 11, 6, 30)},
		ticks(t, "30 2 * * *", "America/New_York", utc(3, 9, 0, 0), 2), "no 02:30 on 2024-03-10")
	require.Equal(t, []time.Time{utc(11, 3, 5, 0), utc(11, 3, 6, 0), utc(11, 3, 7, 0)},
		ticks(t, "0 * * * *", "America/New_York", utc(11, 3, 4, 30), 3), "hourly: both 01:00s, no hour lost")

	// A scheduler (re)loading "30 1 * * *" inside the repeated hour, after the 01:30 EDT run,
	// counts from LateLimit ago: 01:30 EST must not fire again.
	sched, loc, err := Parse("30 1 * * *", "America/New_York")
	require.NoError(t, err)
	lastRun := utc(11, 3, 5, 30)
	next := sched.Next(utc(11, 3, 5, 38).In(loc))
	require.Equal(t, utc(11, 4, 6, 30), afterLastRun(sched, next, &lastRun).UTC())
	require.Equal(t, next, afterLastRun(sched, next, nil), "never run: unchanged")
	shown := Next(&filefleet.Schedule{Cron: "30 1 * * *", Timezone: "America/New_York", LastRunAt: &lastRun},
		utc(11, 3, 5, 38))
	require.Equal(t, utc(11, 4, 6, 30), shown.UTC(), "next_run_at agrees with the scheduler")
}

func TestParseRejectsLocal(t *testing.T) {
	_, _, err := Parse("0 3 * * *", "Local")
	require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err))
	require.Contains(t, filefleet.ErrorMessage(err), "Europe/Paris")
	for _, spec := range []string{"CRON_TZ=Local 0 3 * * *", "TZ=Asia/Tokyo 0 3 * * *"} {
		_, _, err = Parse(spec, "UTC")
		require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err), spec)
		require.Contains(t, filefleet.ErrorMessage(err), "timezone field", spec)
	}
}
