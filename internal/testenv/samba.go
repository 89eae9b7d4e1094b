package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"
	"github.com/stretchr/testify/require"
)

// Samba test account: the OS user the share belongs to and its SMB password, as
// scripts/services.sh sets them up.
const (
	SambaUser     = "fftest"
	SambaPassword = "fftest-pass"
)

// SambaServer starts an smbd of the test's own on a free loopback port, configured from
// scripts/samba/smb.conf.in (shares "data", read-write, and "readonly") with all its state
// in a temporary directory, and waits until it accepts logins as SambaUser. stop kills it
// with its children and waits until the port is closed; start starts it again on the same
// port and state. It needs root (or sudo without a password) and Samba; the server is
// stopped and its directory removed when the test ends.
func SambaServer(t testing.TB) (addr string, stop func(), start func()) {
	t.Helper()
	for _, bin := range []string{"smbd", "smbpasswd"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, serr := os.Stat("/usr/sbin/" + bin); serr != nil {
				t.Fatalf("%s not found: install Samba (apt-get install samba)%s", bin, servicesHint)
			}
		}
	}
	_, file, _, _ := runtime.Caller(0)
	tmpl, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "scripts", "samba", "smb.conf.in"))
	require.NoError(t, err)

	// The share user must reach the share, so not t.TempDir (0700).
	state, err := os.MkdirTemp("", "filefleet-samba-test-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(state) })
	require.NoError(t, os.Chmod(state, 0o755))
	for _, d := range []string{"share", "share-ro", "private", "lock", "state", "cache", "run", "ncalrpc"} {
		require.NoError(t, os.Mkdir(filepath.Join(state, d), 0o755))
	}
	ensureSambaUser(t)
	if os.Geteuid() == 0 {
		u, err := lookupUser(SambaUser)
		require.NoError(t, err)
		require.NoError(t, os.Chown(filepath.Join(state, "share"), u.uid, u.gid))
	} else {
		runRoot(t, nil, "chown", SambaUser, filepath.Join(state, "share"))
	}

	port := FreePort(t)
	conf := filepath.Join(state, "smb.conf")
	rendered := strings.NewReplacer("@STATE@", state, "@PORT@", strconv.Itoa(port), "@USER@", SambaUser).Replace(string(tmpl))
	require.NoError(t, os.WriteFile(conf, []byte(rendered), 0o644))
	runRoot(t, strings.NewReader(SambaPassword+"\n"+SambaPassword+"\n"), sbin("smbpasswd"), "-c", conf, "-a", "-s", SambaUser)

	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	srv := &sambaProc{t: t, conf: conf, state: state, addr: addr}
	srv.start()
	t.Cleanup(srv.stop)
	return addr, srv.stop, srv.start
}

type sambaProc struct {
	t     testing.TB
	conf  string
	state string
	addr  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
}

// start runs smbd in the foreground in a process group of its own and waits until a login
// works.
func (s *sambaProc) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	args := []string{sbin("smbd"), "--foreground", "--no-process-group", "-s", s.conf}
	if os.Geteuid() != 0 {
		args = append([]string{"sudo", "-n"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.out.Reset()
	cmd.Stdout, cmd.Stderr = &s.out, &s.out
	require.NoError(s.t, cmd.Start(), "start smbd")
	s.cmd, s.done = cmd, make(chan struct{})
	done := s.done
	go func() {
		_ = cmd.Wait()
		close(done)
	}()

	deadline := time.Now().Add(30 * time.Second)
	for {
		err := sambaLogin(s.addr)
		if err == nil {
			return
		}
		select {
		case <-done:
			s.t.Fatalf("smbd exited: %s\nlogs: %s/log.*", s.out.String(), s.state)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("smbd on %s does not accept logins after 30s: %v\nlogs: %s/log.*", s.addr, err, s.state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop kills smbd's process group (smbd forks a process per client), then any process
// left that runs with this server's configuration, and waits until the port is closed.
func (s *sambaProc) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-s.done
	s.cmd = nil
	for _, pid := range pidsWithArg(s.conf) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err != nil {
			return
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			s.t.Errorf("smbd on %s still accepts connections after it was killed", s.addr)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sambaLogin connects to addr and logs in as SambaUser.
func sambaLogin(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: SambaUser, Password: SambaPassword}}
	sess, err := d.DialConn(ctx, conn, "127.0.0.1")
	if err != nil {
		_ = conn.Close()
		return err
	}
	return sess.WithContext(ctx).Logoff()
}

// pidsWithArg returns the processes whose command line has the argument arg.
func pidsWithArg(arg string) []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, a := range bytes.Split(cmdline, []byte{0}) {
			if string(a) == arg || strings.HasSuffix(string(a), "="+arg) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// ensureSambaUser creates the OS user SambaUser (no home, no shell) if it is missing.
func ensureSambaUser(t testing.TB) {
	t.Helper()
	if _, err := lookupUser(SambaUser); err == nil {
		return
	}
	runRoot(t, nil, sbin("useradd"), "-M", "-s", "/usr/sbin/nologin", SambaUser)
}

type osUser struct{ uid, gid int }

// lookupUser reads /etc/passwd (os/user needs cgo for other sources; the test user is local).
func lookupUser(name string) (osUser, error) {
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return osUser{}, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 4 && f[0] == name {
			uid, err1 := strconv.Atoi(f[2])
			gid, err2 := strconv.Atoi(f[3])
			if err := errors.Join(err1, err2); err != nil {
				return osUser{}, err
			}
			return osUser{uid: uid, gid: gid}, nil
		}
	}
	return osUser{}, fmt.Errorf("user %s not found", name)
}

// runRoot runs a command as root (through sudo -n when the test is not root).
func runRoot(t testing.TB, stdin *strings.Reader, name string, args ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		args = append([]string{"-n", name}, args...)
		name = "sudo"
	}
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
}

// sbin returns the path of a program that may be in /usr/sbin, outside a user's PATH.
func sbin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return "/usr/sbin/" + name
}
