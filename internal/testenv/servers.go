package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// RedisServer starts a redis-server of the test's own on a free loopback port and returns its
// URL and the process, so a test can kill it. It is killed when the test ends.
func RedisServer(t testing.TB) (string, *exec.Cmd) {
	t.Helper()
	r := StartRedis(t, "--save", "", "--appendonly", "no")
	return r.URL(), r.cmd
}

// RedisProc is a redis-server of the test's own on a free loopback port, killed when the test
// ends. Crash and Start restart it on the same port.
type RedisProc struct {
	port int
	dir  string
	conf string // a configuration file, read first
	args []string
	cmd  *exec.Cmd
}

// StartRedis starts a redis-server with extra arguments and waits until it answers.
func StartRedis(t testing.TB, args ...string) *RedisProc {
	t.Helper()
	r := &RedisProc{port: FreePort(t), dir: t.TempDir(), args: args}
	r.Start(t)
	return r
}

// NewDurableRedis starts a redis-server that writes every command to its append-only file
// before answering (appendfsync always), as a production Redis under asynq should: a crash
// loses nothing it acknowledged.
func NewDurableRedis(t testing.TB) *RedisProc {
	return StartRedis(t, "--save", "", "--appendonly", "yes", "--appendfsync", "always")
}

// StartSentinel starts a Redis Sentinel that watches the master at masterAddr as name and
// fails over after a second without it.
func StartSentinel(t testing.TB, name, masterAddr string) *RedisProc {
	t.Helper()
	host, port, _ := net.SplitHostPort(masterAddr)
	r := &RedisProc{port: FreePort(t), dir: t.TempDir()}
	r.conf = filepath.Join(r.dir, "sentinel.conf")
	require.NoError(t, os.WriteFile(r.conf, []byte(fmt.Sprintf("sentinel monitor %[1]s %[2]s %[3]s 1\n"+
		"sentinel down-after-milliseconds %[1]s 1000\nsentinel failover-timeout %[1]s 5000\n", name, host, port)), 0o644))
	r.args = []string{"--sentinel"}
	r.Start(t)
	return r
}

// Addr is the server's host:port.
func (r *RedisProc) Addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

// URL is the server's redis:// URL (DB 0).
func (r *RedisProc) URL() string { return "redis://" + r.Addr() + "/0" }

// Start starts the server and waits until it answers.
func (r *RedisProc) Start(t testing.TB) {
	t.Helper()
	var args []string
	if r.conf != "" {
		args = append(args, r.conf)
	}
	args = append(args, "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--dir", r.dir)
	cmd := exec.Command("redis-server", append(args, r.args...)...)
	require.NoError(t, cmd.Start(), "redis-server"+servicesHint)
	r.cmd = cmd
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	c := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		require.True(t, time.Now().Before(deadline), "redis-server %v did not start", args)
		time.Sleep(50 * time.Millisecond)
	}
}

// Crash SIGKILLs the server.
func (r *RedisProc) Crash() error {
	if err := r.cmd.Process.Kill(); err != nil {
		return err
	}
	r.cmd.Wait()
	return nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Proxy forwards TCP connections from a loopback port to a target until Cut, which closes
// the port and every connection: to the client the server is gone.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

// NewProxy starts a proxy to target (host:port); it stops when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &Proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.Cut)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// ProxyURL returns rawURL with its host replaced by the proxy's.
func (p *Proxy) ProxyURL(rawURL string) string {
	u, _ := url.Parse(rawURL)
	u.Host = p.Addr()
	return u.String()
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

// Cut closes the listening port and every open connection.
func (p *Proxy) Cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
