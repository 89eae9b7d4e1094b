package scheduler

import (
	"strings"
	"time"
	_ "time/tzdata" // time zones without the system's tzdata

	"github.com/robfig/cron/v3"

	"github.com/filefleet/filefleet"
)

// parser reads cron specs of 5 fields, or 6 with seconds first, and descriptors (@daily,
// @every 1h30m).
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse checks a cron spec and a time zone ("" is UTC) and returns the schedule and location.
func Parse(spec, tz string) (cron.Schedule, *time.Location, error) {
	if f := strings.Fields(spec); len(f) > 0 && (strings.HasPrefix(f[0], "CRON_TZ=") || strings.HasPrefix(f[0], "TZ=")) {
		return nil, nil, filefleet.Errorf(filefleet.EINVALID,
			"give the time zone in the schedule's timezone field, not in the cron spec (%s)", f[0])
	}
	sched, err := parser.Parse(spec)
	if err != nil {
		return nil, nil, filefleet.Errorf(filefleet.EINVALID,
			"invalid cron spec %q: %v (use 5 fields \"m h dom mon dow\", 6 with seconds first, or @daily, @every 1h)", spec, err)
	}
	switch s := sched.(type) {
	case cron.ConstantDelaySchedule:
		sched = alignedEvery{s.Delay}
	case *cron.SpecSchedule:
		// A spec of every hour fires in both of the hours clocks fall back through, as
		// expected of it; one of given hours fires once.
		if s.Hour&allHours != allHours {
			sched = onceWallClock{s}
		}
	}
	loc := time.UTC
	if tz == "Local" {
		return nil, nil, filefleet.Errorf(filefleet.EINVALID,
			"time zone \"Local\" would be each server's own zone; name one, like Europe/Paris or UTC")
	}
	if tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return nil, nil, filefleet.Errorf(filefleet.EINVALID, "unknown time zone %q (use an IANA name like Europe/Paris)", tz)
		}
	}
	return sched, loc, nil
}

// allHours has the bits of the 24 hours of a cron.SpecSchedule's Hour field.
const allHours = 1<<24 - 1

// alignedEvery is "@every D" with ticks at the multiples of D since the zero time (UTC), the
// same on every scheduler: robfig's ConstantDelaySchedule counts D from the time it is given,
// which differs between replicas and so made one job per replica per period.
type alignedEvery struct{ d time.Duration }

// Next returns the first multiple of d after t.
func (e alignedEvery) Next(t time.Time) time.Time { return t.Truncate(e.d).Add(e.d) }

// onceWallClock skips a tick that shows the same local date and time as the one before it:
// when clocks fall back, "30 1 * * *" would otherwise fire at 01:30 twice. (When clocks
// spring forward, a time that does not occur that day is skipped, as robfig/cron does.)
type onceWallClock struct{ cron.Schedule }

// Next returns the first tick after t whose wall-clock time differs from t's.
func (w onceWallClock) Next(t time.Time) time.Time {
	next := w.Schedule.Next(t)
	for !next.IsZero() && sameWallClock(next, t) {
		next = w.Schedule.Next(next)
	}
	return next
}

// afterLastRun returns next, or the tick after it when next repeats the wall-clock time of
// the schedule's last run (lastRun, nil for none) under a once-per-wall-clock schedule: a
// scheduler that starts, or reloads the schedule, inside the hour clocks fall back through
// counts from LateLimit ago, not from the last run, and would fire that time again.
func afterLastRun(sched cron.Schedule, next time.Time, lastRun *time.Time) time.Time {
	if _, ok := sched.(onceWallClock); ok && lastRun != nil && !next.IsZero() && sameWallClock(next, *lastRun) {
		return sched.Next(next)
	}
	return next
}

// sameWallClock reports whether a and b show the same date and time in a's time zone.
func sameWallClock(a, b time.Time) bool {
	const layout = "2006-01-02 15:04:05.999999999"
	return a.Format(layout) == b.In(a.Location()).Format(layout)
}

// Next returns the first tick of s after t, or nil if s is invalid or never fires.
func Next(s *filefleet.Schedule, t time.Time) *time.Time {
	sched, loc, err := Parse(s.Cron, s.Timezone)
	if err != nil {
		return nil
	}
	next := afterLastRun(sched, sched.Next(t.In(loc)), s.LastRunAt)
	if next.IsZero() {
		return nil
	}
	next = next.UTC()
	return &next
}
