package redisconn

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	o, err := Parse("", "redis://:pw@127.0.0.1:6380/3")
	require.NoError(t, err)
	require.Equal(t, ModeSingle, o.Mode)
	o.Tune(time.Second, 2*time.Second, 50)
	c := o.NewClient().(*redis.Client)
	require.Equal(t, 3, c.Options().DB)
	require.Equal(t, 50, c.Options().PoolSize)
	require.Equal(t, 2*time.Second, c.Options().ReadTimeout)
	c.Close()

	o, err = Parse("", "redis://127.0.0.1:6380/0?read_timeout=9s")
	require.NoError(t, err)
	o.Tune(time.Second, 2*time.Second, 50)
	require.Equal(t, 9*time.Second, o.single.ReadTimeout, "the URL's setting stays")
	require.Equal(t, time.Second, o.single.DialTimeout)

	o, err = Parse(ModeSentinel, "redis://s1:26379/2?master_name=mymaster&addr=s2:26379&password=pw")
	require.NoError(t, err)
	require.Equal(t, []string{"s1:26379", "s2:26379"}, o.failover.SentinelAddrs)
	require.Equal(t, "mymaster", o.failover.MasterName)
	require.Equal(t, "pw", o.failover.Password)
	require.Equal(t, 2, o.failover.DB)
	require.IsType(t, &redis.Client{}, o.MakeRedisClient())

	o, err = Parse(ModeCluster, "redis://n1:6379?addr=n2:6379&addr=n3:6379")
	require.NoError(t, err)
	require.Equal(t, []string{"n1:6379", "n2:6379", "n3:6379"}, o.cluster.Addrs)
	cc := o.NewClient()
	require.IsType(t, &redis.ClusterClient{}, cc)
	cc.Close()

	for _, bad := range [][2]string{
		{ModeSentinel, "redis://s1:26379/0"}, // no master name
		{ModeSentinel, "redis://s1:26379/0?master_name=m&replica_only=true"},
		{"replicated", "redis://127.0.0.1:6379/0"},
		{ModeSingle, "http://127.0.0.1:6379"},
		{ModeCluster, "redis://n1:6379?bogus=1"},
	} {
		_, err := Parse(bad[0], bad[1])
		require.Error(t, err, "%v", bad)
	}

	_, err = Parse(ModeSingle, "redis://:s3cret@127.0.0.1:notaport/0")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
	require.Equal(t, "redis://REDACTED@h:1/0?master_name=m&password=REDACTED&addr=x:2",
		Redact("redis://u:p@h:1/0?master_name=m&password=pw&addr=x:2"))
}
