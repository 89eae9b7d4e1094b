package dedupe_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/dedupe"
)

func TestPlanKeepPolicies(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	files := []filefleet.DuplicateFile{
		{ID: 1, Root: "nas", Path: "photos/2024/a.jpg", ModifiedAt: t0.Add(2 * time.Hour)},
		{ID: 2, Root: "s3", Path: "b.jpg", ModifiedAt: t0},
		{ID: 3, Root: "disk", Path: "backup/old/photos/a.jpg", ModifiedAt: t0.Add(time.Hour)},
	}
	groups := []filefleet.DuplicateGroup{
		{ID: 7, Size: 10, Files: files},
		{ID: 8, Size: 5, Files: files[:1]}, // a single file left: nothing to do
	}
	cases := []struct {
		p    dedupe.Params
		keep int64
	}{
		{dedupe.Params{Keep: filefleet.KeepOldest}, 2},
		{dedupe.Params{Keep: filefleet.KeepNewest}, 1},
		{dedupe.Params{Keep: filefleet.KeepShortestPath}, 2},
		{dedupe.Params{Keep: filefleet.KeepLongestPath}, 3},
		{dedupe.Params{Keep: filefleet.KeepPreferredRoot, PreferredRoot: "nas"}, 1},
		{dedupe.Params{Keep: filefleet.KeepPreferredRoot, PreferredRoot: "disk", PreferredPrefix: "backup"}, 3},
		{dedupe.Params{Keep: filefleet.KeepPreferredRoot, PreferredRoot: "disk", PreferredPrefix: "other"}, 2},
	}
	for _, tc := range cases {
		require.NoError(t, tc.p.Validate())
		ds := dedupe.Plan(groups, tc.p)
		require.Len(t, ds, 1, "%+v", tc.p)
		require.Equal(t, tc.keep, ds[0].Keep.ID, "%+v", tc.p)
		require.Len(t, ds[0].Others, 2)
		for _, o := range ds[0].Others {
			require.NotEqual(t, tc.keep, o.ID, "the kept file is never among the others")
		}
	}
}

func TestPlanTiesAreDeterministic(t *testing.T) {
	t0 := time.Now()
	g := filefleet.DuplicateGroup{Files: []filefleet.DuplicateFile{
		{ID: 1, Root: "b", Path: "x", ModifiedAt: t0}, {ID: 2, Root: "a", Path: "y", ModifiedAt: t0},
		{ID: 3, Root: "a", Path: "x", ModifiedAt: t0}}}
	for range 5 {
		ds := dedupe.Plan([]filefleet.DuplicateGroup{g}, dedupe.Params{Keep: filefleet.KeepOldest})
		require.EqualValues(t, 3, ds[0].Keep.ID)
	}
}

func TestValidate(t *testing.T) {
	p := dedupe.Params{}
	require.NoError(t, p.Validate())
	require.Equal(t, filefleet.KeepOldest, p.Keep)
	require.Equal(t, filefleet.ActionTrash, p.Action)
	for _, bad := range []dedupe.Params{{Keep: "largest"}, {Action: "shred"}, {Keep: filefleet.KeepPreferredRoot},
		{PreferredPrefix: "../../etc"}} {
		require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(bad.Validate()), "%+v", bad)
	}
}
