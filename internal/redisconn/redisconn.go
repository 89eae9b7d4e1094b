// Package redisconn turns filefleet's Redis setting (FILEFLEET_REDIS_MODE and
// FILEFLEET_REDIS_URL) into clients: one server, a master watched by Redis Sentinel, or a
// Redis Cluster. The URLs are go-redis's: ParseURL, ParseFailoverURL and ParseClusterURL.
package redisconn

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Modes of FILEFLEET_REDIS_MODE.
const (
	ModeSingle   = "single"   // redis://[:password@]host:port/db
	ModeSentinel = "sentinel" // redis://[sentinel-user:sentinel-password@]sentinel:26379/db?master_name=M&addr=sentinel2:26379&password=P
	ModeCluster  = "cluster"  // redis://[user:password@]node:6379?addr=node2:6379&addr=node3:6379
)

// Options is a parsed Redis setting. It is also an asynq.RedisConnOpt, so asynq's dashboard
// can open clients of its own.
type Options struct {
	Mode     string
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// Parse reads a Redis URL in mode ("" is single).
func Parse(mode, rawURL string) (*Options, error) {
	o := &Options{Mode: mode}
	var err error
	switch mode {
	case "", ModeSingle:
		o.Mode = ModeSingle
		o.single, err = redis.ParseURL(rawURL)
	case ModeSentinel:
		o.failover, err = redis.ParseFailoverURL(rawURL)
		switch {
		case err != nil:
		case o.failover.MasterName == "":
			err = fmt.Errorf("sentinel mode needs the master's name: add ?master_name=NAME to the URL")
		case o.failover.RouteByLatency || o.failover.RouteRandomly || o.failover.ReplicaOnly:
			// Those make a client of replicas, which refuse the writes filefleet makes.
			err = fmt.Errorf("sentinel mode: route_by_latency, route_randomly and replica_only are not supported")
		}
	case ModeCluster:
		o.cluster, err = redis.ParseClusterURL(rawURL)
	default:
		return nil, fmt.Errorf("unknown Redis mode %q: use %s, %s or %s", mode, ModeSingle, ModeSentinel, ModeCluster)
	}
	if err != nil {
		// url.Parse errors quote the URL, which may hold passwords.
		return nil, errors.New(strings.ReplaceAll(err.Error(), rawURL, Redact(rawURL)))
	}
	return o, nil
}

// passwordParam matches the password query parameters of Redis URLs.
var passwordParam = regexp.MustCompile(`((?:^|[?&])(?:sentinel_)?password=)[^&]*`)

// Redact returns a Redis URL with its user information and password parameters hidden.
func Redact(rawURL string) string {
	out := rawURL
	if i, at := strings.Index(out, "://"), strings.LastIndex(out, "@"); i >= 0 && at > i {
		out = out[:i+3] + "REDACTED@" + out[at+1:]
	}
	return passwordParam.ReplaceAllString(out, "${1}REDACTED")
}

// Tune sets the timeouts the URL left unset and raises the pool (per server) to at least
// pool connections.
func (o *Options) Tune(dial, readWrite time.Duration, pool int) {
	switch {
	case o.single != nil:
		tune(&o.single.DialTimeout, &o.single.ReadTimeout, &o.single.WriteTimeout, &o.single.PoolSize, dial, readWrite, pool)
	case o.failover != nil:
		tune(&o.failover.DialTimeout, &o.failover.ReadTimeout, &o.failover.WriteTimeout, &o.failover.PoolSize, dial, readWrite, pool)
	case o.cluster != nil:
		tune(&o.cluster.DialTimeout, &o.cluster.ReadTimeout, &o.cluster.WriteTimeout, &o.cluster.PoolSize, dial, readWrite, pool)
	}
}

func tune(dial, read, write *time.Duration, poolSize *int, d, rw time.Duration, pool int) {
	*dial, *read, *write = cmp.Or(*dial, d), cmp.Or(*read, rw), cmp.Or(*write, rw)
	*poolSize = max(*poolSize, pool)
}

// NewClient returns a new client: a *redis.Client for single and sentinel modes (the latter
// follows failovers), a *redis.ClusterClient for cluster mode.
func (o *Options) NewClient() redis.UniversalClient {
	switch {
	case o.failover != nil:
		return redis.NewFailoverClient(o.failover)
	case o.cluster != nil:
		return redis.NewClusterClient(o.cluster)
	}
	return redis.NewClient(o.single)
}

// MakeRedisClient implements asynq.RedisConnOpt.
func (o *Options) MakeRedisClient() any { return o.NewClient() }
