package tasks_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/tasks"
)

// TestLiveConverters counts the kinds of live advertisements only and drops lapsed ones.
func TestLiveConverters(t *testing.T) {
	rdb, _ := testenv.Redis(t)
	ctx := context.Background()
	require.NoError(t, tasks.AdvertiseConverter(ctx, rdb, "w1", []string{"video", "audio"}, time.Minute))
	require.NoError(t, tasks.AdvertiseConverter(ctx, rdb, "w2", []string{"video"}, time.Minute))
	require.NoError(t, tasks.AdvertiseConverter(ctx, rdb, "dead", []string{"video", "pdf"}, -time.Second))
	counts, err := tasks.LiveConverters(ctx, rdb)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"video": 2, "audio": 1}, counts)
	names, err := rdb.HKeys(ctx, tasks.ConvertersKey).Result()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"w1", "w2"}, names, "the lapsed advertisement is gone")

	require.NoError(t, tasks.WithdrawConverter(ctx, rdb, "w1"))
	counts, err = tasks.LiveConverters(ctx, rdb)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"video": 1}, counts)
}
