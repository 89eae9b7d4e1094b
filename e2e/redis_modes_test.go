package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/redisconn"
	"github.com/filefleet/filefleet/internal/testenv"
)

// onRedis starts an API, a worker and a scheduler process on the Redis at url in mode (FILEFLEET_REDIS_MODE)
// and returns a stack that talks to that API.
func onRedis(t *testing.T, mode, url string) *testenv.Stack {
	t.Helper()
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	env := []string{"FILEFLEET_REDIS_MODE=" + mode, "FILEFLEET_REDIS_URL=" + url, "FILEFLEET_ADMIN_TOKEN=" + testenv.AdminToken}
	w := s.StartWorker(t, env...)
	waitReady(t, w)
	a, apiURL := s.StartAPI(t, env...)
	// Writes in flight while Sentinel switches masters may be lost (replication is
	// asynchronous); the scheduler queues such tasks again.
	s.StartScheduler(t, append(env, "FILEFLEET_REQUEUE_AFTER=2s")...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker:\n%s\napi:\n%s", w.Output(), a.Output())
		}
	})
	ps := *s
	ps.URL = apiURL
	localRoot(t, &ps, "media", treeSpec(600))
	return &ps
}

// runJobs runs a scan (a task per directory page) and a dedupe scan (stages that fan out and
// in) through the API, follows the dedupe on its event stream, and checks the monitoring
// dashboard's queues and the workers' conversion tools, all of which live in Redis.
func runJobs(t *testing.T, s *testenv.Stack) {
	t.Helper()
	scan := submit(t, s, map[string]any{"type": "scan", "root": "media"})
	scan = waitJob(t, s, scan.ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, scan.Status, scan.Error)
	require.Greater(t, scan.Progress.UnitsTotal, int64(1), "the scan ran as several tasks")

	r := s.Do(t, http.MethodPost, "/api/v1/dedupe/scan", map[string]any{"roots": []string{"media"}})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var dedupe filefleet.Job
	r.Decode(t, &dedupe)
	evs := readEvents(t, s, dedupe.ID, 0, time.Minute)
	require.NotEmpty(t, evs)
	require.Equal(t, string(filefleet.EventJobCompleted), evs[len(evs)-1].Type)

	r = s.Do(t, http.MethodGet, "/monitoring/api/queues", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Contains(t, string(r.Raw), `"queue":"default"`)

	var formats map[string]struct {
		Workers int `json:"workers"`
	}
	r = s.Do(t, http.MethodGet, "/api/v1/conversions/formats", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r.Decode(t, &formats)
	require.Equal(t, 1, formats["video"].Workers, "the worker's ffmpeg is advertised: %s", r.Raw)
}

// TestRedisSentinel runs the cluster on a master watched by Redis Sentinel, fails the master
// over to its replica and runs jobs again: processes follow the new master.
func TestRedisSentinel(t *testing.T) {
	master := testenv.StartRedis(t, "--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0")
	host, port, _ := strings.Cut(master.Addr(), ":")
	replica := testenv.StartRedis(t, "--save", "", "--appendonly", "no", "--replicaof", host, port)
	sentinel := testenv.StartSentinel(t, "ffmaster", master.Addr())
	url := fmt.Sprintf("%s?master_name=ffmaster", sentinel.URL())
	s := onRedis(t, redisconn.ModeSentinel, url)
	runJobs(t, s)

	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr()})
	defer sc.Close()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for { // the sentinel must know the replica before it can promote it
		replicas, err := sc.Replicas(ctx, "ffmaster").Result()
		require.NoError(t, err)
		if len(replicas) == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the sentinel found no replica")
		time.Sleep(100 * time.Millisecond)
	}
	rc := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	defer rc.Close()
	for { // and the replica must hold the master's data
		info, err := rc.Info(ctx, "replication").Result()
		require.NoError(t, err)
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		require.True(t, time.Now().Before(deadline), "the replica did not sync: %s", info)
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, sc.Failover(ctx, "ffmaster").Err())
	for {
		addr, err := sc.GetMasterAddrByName(ctx, "ffmaster").Result()
		require.NoError(t, err)
		if strings.Join(addr, ":") == replica.Addr() {
			break
		}
		require.True(t, time.Now().Before(deadline), "no failover: master still %v", addr)
		time.Sleep(100 * time.Millisecond)
	}
	runJobs(t, s)
}

// TestRedisCluster runs the cluster on a three-node Redis Cluster.
func TestRedisCluster(t *testing.T) {
	var nodes []string
	for range 3 {
		n := testenv.StartRedis(t, "--save", "", "--appendonly", "no", "--cluster-enabled", "yes",
			"--cluster-node-timeout", "2000")
		nodes = append(nodes, n.Addr())
	}
	out, err := exec.Command("redis-cli", append(append([]string{"--cluster", "create"}, nodes...),
		"--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: nodes})
	defer cc.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := cc.ClusterInfo(context.Background()).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		require.True(t, time.Now().Before(deadline), "the cluster did not form: %v %s", err, info)
		time.Sleep(100 * time.Millisecond)
	}
	url := fmt.Sprintf("redis://%s?addr=%s&addr=%s", nodes[0], nodes[1], nodes[2])
	runJobs(t, onRedis(t, redisconn.ModeCluster, url))
}
