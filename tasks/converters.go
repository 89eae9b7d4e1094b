package tasks

import (
	"context"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"
)

// ConvertersKey is the Redis hash in which each worker with conversion tools advertises the
// kinds it converts: field = worker name, value = a converterEntry renewed while the worker
// runs. One hash, not a key per worker, so that it is read whole in Redis Cluster too (a
// SCAN there reaches one node).
const ConvertersKey = "filefleet:converters"

// converterEntry is a worker's advertisement; it lapses at Until (Unix seconds).
type converterEntry struct {
	Kinds []string `json:"kinds"`
	Until int64    `json:"until"`
}

// AdvertiseConverter says that worker name converts kinds for the next ttl.
func AdvertiseConverter(ctx context.Context, rdb redis.Cmdable, name string, kinds []string, ttl time.Duration) error {
	b, err := json.Marshal(converterEntry{Kinds: kinds, Until: time.Now().Add(ttl).Unix()})
	if err != nil {
		return err
	}
	return rdb.HSet(ctx, ConvertersKey, name, b).Err()
}

// WithdrawConverter removes worker name's advertisement.
func WithdrawConverter(ctx context.Context, rdb redis.Cmdable, name string) error {
	return rdb.HDel(ctx, ConvertersKey, name).Err()
}

// LiveConverters returns how many live workers convert each kind, and removes lapsed
// advertisements (of workers that died).
func LiveConverters(ctx context.Context, rdb redis.Cmdable) (map[string]int, error) {
	all, err := rdb.HGetAll(ctx, ConvertersKey).Result()
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	now := time.Now().Unix()
	for name, v := range all {
		var e converterEntry
		if json.Unmarshal([]byte(v), &e) != nil || e.Until < now {
			rdb.HDel(ctx, ConvertersKey, name)
			continue
		}
		for _, k := range e.Kinds {
			counts[k]++
		}
	}
	return counts, nil
}
