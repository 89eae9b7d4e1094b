// Package events publishes job events over Redis pub/sub and fans them out to in-process
// subscribers, so any API replica can stream any job's events.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/filefleet/filefleet"
)

// Channel is the Redis pub/sub channel events go through, on database 0 (see ChannelOf).
const Channel = "filefleet:events"

// ChannelOf returns the pub/sub channel of the filefleet whose queues are on rdb. Redis
// pub/sub ignores database indexes, so two filefleets on one Redis server (different
// FILEFLEET_REDIS_URL databases) would otherwise stream each other's events: the channel
// names the database when it is not 0 (Redis Cluster has only 0).
func ChannelOf(rdb redis.UniversalClient) string {
	if c, ok := rdb.(*redis.Client); ok && c.Options().DB != 0 {
		return fmt.Sprintf("%s:%d", Channel, c.Options().DB)
	}
	return Channel
}

// SubscriberBuffer is how many events a subscriber may lag behind before it is dropped.
const SubscriberBuffer = 1024

// Publish sends ev (already stored, with its ID) to every API replica.
func Publish(ctx context.Context, rdb redis.UniversalClient, ev filefleet.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return rdb.Publish(ctx, ChannelOf(rdb), b).Err()
}

// Hub holds one Redis subscription and hands its events to local subscribers.
type Hub struct {
	rdb  redis.UniversalClient
	log  *slog.Logger
	mu   sync.Mutex
	subs map[*Subscription]struct{}
	ps   *redis.PubSub
	done chan struct{}
	// stopped: Stop has run; later subscriptions start ended (a stream opened while the API
	// stops would otherwise never end, and hold the shutdown until its timeout).
	stopped bool
}

// Subscription receives the events of one job, or of all jobs.
type Subscription struct {
	C     <-chan filefleet.Event // closed when the subscription ends or lags too far behind
	c     chan filefleet.Event
	jobID string
	hub   *Hub
	once  sync.Once
}

// NewHub returns a hub reading from rdb.
func NewHub(rdb redis.UniversalClient, log *slog.Logger) *Hub {
	return &Hub{rdb: rdb, log: log, subs: map[*Subscription]struct{}{}}
}

// Start subscribes to Channel and relays events until Stop. go-redis reconnects by itself after
// Redis restarts; events sent meanwhile are replayed to clients from PostgreSQL.
func (h *Hub) Start(ctx context.Context) error {
	h.ps = h.rdb.Subscribe(ctx, ChannelOf(h.rdb))
	h.done = make(chan struct{})
	ch := h.ps.Channel(redis.WithChannelSize(4096))
	go func() {
		defer close(h.done)
		for msg := range ch {
			var ev filefleet.Event
			if err := json.Unmarshal([]byte(msg.Payload), &ev); err != nil {
				h.log.Warn("bad event on channel", "err", err)
				continue
			}
			h.dispatch(ev)
		}
	}()
	return nil
}

// Stop ends the Redis subscription and every local subscription.
func (h *Hub) Stop() {
	if h.ps != nil {
		h.ps.Close()
		<-h.done
	}
	h.mu.Lock()
	subs := h.subs
	h.subs = map[*Subscription]struct{}{}
	h.stopped = true
	h.mu.Unlock()
	for s := range subs {
		s.end()
	}
}

// Subscribe returns a subscription to the events of jobID ("" for all jobs).
func (h *Hub) Subscribe(jobID string) *Subscription {
	c := make(chan filefleet.Event, SubscriberBuffer)
	s := &Subscription{C: c, c: c, jobID: jobID, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		s.end()
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
	s.end()
}

func (s *Subscription) end() { s.once.Do(func() { close(s.c) }) }

func (h *Hub) dispatch(ev filefleet.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.jobID != "" && s.jobID != ev.JobID {
			continue
		}
		select {
		case s.c <- ev:
		default: // too slow: drop it; the client resumes from PostgreSQL with Last-Event-ID
			delete(h.subs, s)
			s.end()
		}
	}
}
