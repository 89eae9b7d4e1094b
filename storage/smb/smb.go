// Package smb implements storage.Backend on a directory of an SMB2/3 share with
// github.com/cloudsoda/go-smb2.
package smb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
)

// TempPrefix starts the names of the files Put and Copy write before renaming them into
// place (the same prefix as the local backend's). List hides them, and removes those older
// than storage.TempStaleAfter.
const TempPrefix = ".filefleet-tmp-"

// PortDefault is the SMB port used when Config.Port is 0.
const PortDefault = 445

// MaxSessions is how many SMB sessions (TCP connections) a Backend opens at most.
const MaxSessions = 4

const (
	dialTimeout    = 5 * time.Second  // TCP connect
	setupTimeout   = 20 * time.Second // negotiate, authenticate and mount after the connect
	cleanupTimeout = 5 * time.Second  // removing a temporary file, logging off
	bufferSize     = 1 << 20          // read and write chunk: one SMB request at most
	// maxCreditBalance is how many SMB credits (64 KiB of payload each) a session may
	// hold, up from go-smb2's 128: go-smb2 sends directory and file-information queries
	// with a 1 MiB buffer even when it could borrow fewer credits than that takes, which
	// the server rejects (STATUS_INVALID_PARAMETER) when concurrent requests hold the rest.
	maxCreditBalance = 1024
	// maxServerCopy is the largest file Copy copies with FSCTL_SRV_COPYCHUNK. go-smb2
	// copies larger files wrongly (it does not advance the offsets past the first 16 MiB
	// batch of chunks), so they are streamed instead.
	maxServerCopy = 16 << 20
)

// NTSTATUS codes the backend tells apart ([MS-ERREF] 2.3).
const (
	statusNoSuchUser            = 0xC0000064
	statusWrongPassword         = 0xC000006A
	statusLogonFailure          = 0xC000006D
	statusAccountRestriction    = 0xC000006E
	statusPasswordExpired       = 0xC0000071
	statusAccountDisabled       = 0xC0000072
	statusAccountExpired        = 0xC0000193
	statusPasswordMustChange    = 0xC0000224
	statusAccountLockedOut      = 0xC0000234
	statusObjectNameInvalid     = 0xC0000033
	statusObjectPathInvalid     = 0xC0000039
	statusObjectPathSyntaxBad   = 0xC000003B
	statusNameTooLong           = 0xC0000106
	statusSharingViolation      = 0xC0000043
	statusDeletePending         = 0xC0000056
	statusDiskFull              = 0xC000007F
	statusMediaWriteProtected   = 0xC00000A2
	statusFileIsADirectory      = 0xC00000BA
	statusNotSupported          = 0xC00000BB
	statusNetworkNameDeleted    = 0xC00000C9
	statusNetworkAccessDenied   = 0xC00000CA
	statusBadNetworkName        = 0xC00000CC
	statusRequestNotAccepted    = 0xC00000D0
	statusDirectoryNotEmpty     = 0xC0000101
	statusNotADirectory         = 0xC0000103
	statusUserSessionDeleted    = 0xC0000203
	statusConnectionDisconnect  = 0xC000020C
	statusConnectionReset       = 0xC000020D
	statusNetworkSessionExpired = 0xC000035C
	statusInvalidParameter      = 0xC000000D
	statusInvalidDeviceRequest  = 0xC0000010
)

// File attributes and reparse tags ([MS-FSCC] 2.6, 2.1.2.1).
const (
	attrHidden           = 0x2
	attrSystem           = 0x4
	attrDirectory        = 0x10
	attrReparsePoint     = 0x400
	reparseTagSymlink    = 0xA000000C
	reparseTagMountPoint = 0xA0000003
)

// Config says where a share is and how to log in.
type Config struct {
	Host     string // server name or IP address
	Port     int    // defaults to PortDefault (445)
	Share    string // share name, without slashes
	Path     string // directory inside the share that is the root; "" for the share's top
	Username string // "" logs in anonymously
	Password string
	Domain   string // NTLM domain; "" for the server's own accounts
}

// Backend is a storage.Backend on a directory of an SMB share. A path p is the share path
// Config.Path + "/" + p. Names with characters Windows reserves (" * : < > ? |, a trailing
// space or dot) are sent with the Services for Mac mapping (as macOS and Linux "mapposix"
// clients do), so on the server's disk those characters are stored as U+F020-U+F029
// unless the share maps them back (Samba's vfs_catia or vfs_fruit).
//
// The backend connects on first use and keeps up to MaxSessions sessions, each on its own
// TCP connection, handing an idle one to each operation. An operation that fails because
// the connection broke (the server restarted, say) drops the session and runs once more
// on a new one.
type Backend struct {
	cfg  Config
	addr string // host:port
	base string // cleaned Path, "" for the share's top

	mu       sync.Mutex
	sessions []*session
	dialing  int
	dialed   chan struct{} // closed and replaced whenever a dial ends
	next     int           // where the search for a session starts (round robin)
	closed   bool

	dirIDs   dirIDCache                 // server file ids of directories, for loop checks in List
	listings storage.Listings[listItem] // the large directories listed last
}

// dirIDCache maps directory paths to their server file ids. It is emptied when it holds
// dirIDCacheMax of them, which only costs a few opens again.
type dirIDCache struct {
	mu  sync.Mutex
	ids map[string]uint64
}

const dirIDCacheMax = 100_000

func (c *dirIDCache) get(p string) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.ids[p]
	return id, ok
}

func (c *dirIDCache) put(p string, id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil || len(c.ids) >= dirIDCacheMax {
		c.ids = map[string]uint64{}
	}
	c.ids[p] = id
}

var _ storage.Backend = (*Backend)(nil)
var _ storage.SpaceReporter = (*Backend)(nil)

// session is one SMB session with the share mounted.
type session struct {
	sess    *smb2.Session
	share   *smb2.Share
	users   int  // operations and open readers using it
	retired bool // out of the pool; logged off when users drops to 0
}

// New returns a backend for cfg without contacting the server (see Check). It returns
// EINVALID when the host, port, share or path is malformed.
func New(cfg Config) (*Backend, error) {
	cfg, addr, err := normConfig(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Share == "" {
		return nil, filefleet.Errorf(filefleet.EINVALID, "SMB share is required")
	}
	if strings.ContainsAny(cfg.Share, `/\`) || strings.ContainsRune(cfg.Share, 0) {
		return nil, filefleet.Errorf(filefleet.EINVALID, "SMB share %q must be a bare share name, without slashes", cfg.Share)
	}
	base, err := storage.CleanPath(strings.Trim(strings.ReplaceAll(cfg.Path, `\`, "/"), "/"))
	if err != nil {
		return nil, filefleet.Errorf(filefleet.EINVALID, "bad SMB path: %s", filefleet.ErrorMessage(err))
	}
	return &Backend{cfg: cfg, addr: addr, base: base, dialed: make(chan struct{})}, nil
}

// normConfig checks the host and port of cfg and fills in the default port. A host of the
// form "host:port" is accepted when Port is 0.
func normConfig(cfg Config) (Config, string, error) {
	cfg.Host = strings.TrimSpace(cfg.Host)
	if cfg.Host == "" {
		return cfg, "", filefleet.Errorf(filefleet.EINVALID, "SMB host is required")
	}
	if h, p, err := net.SplitHostPort(cfg.Host); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || (cfg.Port != 0 && cfg.Port != n) {
			return cfg, "", filefleet.Errorf(filefleet.EINVALID, "SMB host %q: give the port in the port field", cfg.Host)
		}
		cfg.Host, cfg.Port = h, n
	}
	cfg.Host = strings.TrimSuffix(strings.TrimPrefix(cfg.Host, "["), "]")
	if strings.ContainsAny(cfg.Host, `/\ `) {
		return cfg, "", filefleet.Errorf(filefleet.EINVALID, "SMB host %q must be a name or an IP address", cfg.Host)
	}
	if cfg.Port == 0 {
		cfg.Port = PortDefault
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return cfg, "", filefleet.Errorf(filefleet.EINVALID, "SMB port %d is out of range", cfg.Port)
	}
	return cfg, net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), nil
}

// Check connects, logs in, mounts the share and makes sure the root directory exists. It
// returns EUNAVAILABLE, EFORBIDDEN or ENOTFOUND (no such share or directory) otherwise,
// and EINVALID when the root is a file.
func (b *Backend) Check(ctx context.Context) error {
	var fi os.FileInfo
	err := b.do(ctx, func(sh *smb2.Share) (err error) {
		fi, err = sh.Stat(b.base)
		return err
	})
	if errors.Is(err, os.ErrNotExist) {
		return filefleet.WrapError(filefleet.ENOTFOUND, err, "directory %q not found in share %q on %s", b.base, b.cfg.Share, b.addr)
	} else if err != nil {
		return b.mapErr(err, "")
	}
	if !isDir(fi) {
		return filefleet.Errorf(filefleet.EINVALID, "%q in share %q on %s is not a directory", b.base, b.cfg.Share, b.addr)
	}
	return nil
}

// Statfs implements storage.SpaceReporter: the size and the space available to the user
// of the volume holding the root.
func (b *Backend) Statfs(ctx context.Context) (total, free uint64, err error) {
	var info smb2.FileFsInfo
	err = b.do(ctx, func(sh *smb2.Share) (err error) {
		info, err = sh.Statfs(b.base)
		return err
	})
	if err != nil {
		return 0, 0, b.mapErr(err, "")
	}
	bs := info.BlockSize()
	return info.TotalBlockCount() * bs, info.AvailableBlockCount() * bs, nil
}

// List implements storage.Backend. Entries sort by name, a directory's name compared as if
// it ended in "/" (the order S3 lists keys in); the cursor is the last returned name, with
// a trailing "/" for a directory. Symlinks the server reports as such are followed, and
// skipped when that fails; temporary files, names that are not UTF-8 and Windows' protected
// system files (hidden and system) are skipped. The pages of a large directory share one read
// of it (storage.Listings): their sizes and times are those of that read, a minute old at most.
func (b *Backend) List(ctx context.Context, dir, cursor string, limit int) ([]storage.Entry, string, error) {
	dir, err := storage.CleanPath(dir)
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		return nil, "", filefleet.Errorf(filefleet.EINVALID, "list limit must be positive, got %d", limit)
	}
	full := b.full(dir)

	var items []listItem
	err = b.do(ctx, func(sh *smb2.Share) error {
		items = nil
		f, err := sh.Open(full)
		if err != nil {
			return err
		}
		var mtime time.Time
		if fi, err := f.Stat(); err == nil {
			b.dirIDs.put(dir, fileStat(fi).FileId)
			mtime = fi.ModTime()
			if kept, ok := b.listings.Get(dir, mtime); ok {
				items = kept
				return f.Close()
			}
		}
		readAt := time.Now()
		fis, err := readdir(ctx, f)
		if cerr := f.Close(); err == nil {
			err = cerr // retires the session if ctx ended (the handle may stay open)
		}
		if err != nil {
			if !isConnErr(err) && ctx.Err() == nil {
				// Readdir of a file fails with a status that differs between servers.
				if fi, serr := sh.Stat(full); serr == nil && !isDir(fi) {
					return filefleet.Errorf(filefleet.EINVALID, "%q is not a directory", dir)
				}
			}
			return err
		}
		for i, fi := range fis {
			if i%256 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			it, ok, err := b.listable(sh, dir, fi)
			if err != nil {
				return err
			}
			if ok {
				items = append(items, it)
			}
		}
		sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
		if len(items) > limit && !mtime.IsZero() {
			b.listings.Put(dir, mtime, readAt, items)
		}
		return nil
	})
	if err != nil {
		return nil, "", b.mapErr(err, dir)
	}
	items = items[sort.Search(len(items), func(i int) bool { return items[i].key > cursor }):]

	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = items[limit-1].key
	}
	entries := make([]storage.Entry, len(items))
	for i, it := range items {
		entries[i] = it.e
	}
	return entries, next, nil
}

// listItem is one listable entry of a directory.
type listItem struct {
	key string // name, plus "/" for a directory
	e   storage.Entry
}

// listable returns the list item for fi, an entry of directory dir, false for one List
// leaves out; an error only when the connection failed. It removes a stale temporary file
// on the way.
func (b *Backend) listable(sh *smb2.Share, dir string, fi fs.FileInfo) (listItem, bool, error) {
	full, name := b.full(dir), fi.Name()
	if strings.HasPrefix(name, TempPrefix) && !isDir(fi) && storage.StaleTemp(fi.ModTime()) {
		_ = sh.Remove(path.Join(full, name)) // a dead writer's leftover
	}
	if strings.HasPrefix(name, TempPrefix) || name == "" || name == "." || name == ".." ||
		strings.Contains(name, "/") || !utf8.ValidString(name) {
		return listItem{}, false, nil
	}
	st := fileStat(fi)
	if st.FileAttributes&(attrHidden|attrSystem) == attrHidden|attrSystem {
		return listItem{}, false, nil // $RECYCLE.BIN, System Volume Information
	}
	if isLink(st) {
		var err error
		if fi, err = sh.Stat(path.Join(full, name)); err != nil {
			if isConnErr(err) {
				return listItem{}, false, err
			}
			return listItem{}, false, nil // dangles or leads where the server does not follow
		}
	}
	e := entryOf(storage.Join(dir, name), fi)
	it := listItem{key: name, e: e}
	if e.IsDir {
		// Samba follows symlinks itself, so a link to this directory or one above it
		// (current -> .) looks like a plain directory: following it would never end.
		id := fileStat(fi).FileId
		if id != 0 && b.ancestorOf(sh, id, dir) {
			return listItem{}, false, nil
		}
		b.dirIDs.put(e.Path, id)
		it.key += "/"
	}
	return it, true, nil
}

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, p string) (storage.Entry, error) {
	p, err := storage.CleanPath(p)
	if err != nil {
		return storage.Entry{}, err
	}
	var fi os.FileInfo
	err = b.do(ctx, func(sh *smb2.Share) (err error) {
		fi, err = sh.Stat(b.full(p))
		return err
	})
	if err != nil {
		return storage.Entry{}, b.mapErr(err, p)
	}
	return entryOf(p, fi), nil
}

// Open implements storage.Backend. It returns EINVALID for a directory. The reader reads
// in chunks of up to 1 MiB and has a WriteTo method, so io.Copy from it moves 1 MiB per
// request; it holds one of the backend's sessions until closed and stops when ctx ends.
func (b *Backend) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	p, err := storage.CleanPath(p)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, filefleet.Errorf(filefleet.EINVALID, "negative offset %d", offset)
	}
	var f *smb2.File
	var size int64
	s, err := b.run(ctx, func(sh *smb2.Share) error {
		var err error
		if f, err = sh.Open(b.full(p)); err != nil {
			return err
		}
		fi, err := statFile(f)
		if err == nil && fi == nil {
			fi, err = sh.Stat(b.full(p))
		}
		if err == nil && isDir(fi) {
			err = filefleet.Errorf(filefleet.EINVALID, "%q is a directory", p)
		}
		if err != nil {
			if cerr := f.Close(); cerr != nil && !isConnErr(err) {
				err = cerr // retires the session if ctx ended (the handle may stay open)
			}
			return err
		}
		size = fi.Size()
		return nil
	})
	if err != nil {
		return nil, b.mapErr(err, p)
	}
	end := size
	if length >= 0 && offset+length < size {
		end = offset + length
	}
	return &reader{b: b, s: s, f: f, ctx: ctx, p: p, off: offset, end: end}, nil
}

// Put implements storage.Backend: it writes a temporary file in p's directory and renames
// it to p. It returns ECONFLICT when p is a directory or one of its parents is a file.
func (b *Backend) Put(ctx context.Context, p string, r io.Reader) (storage.Entry, error) {
	p, err := storage.CleanFilePath(p, "write to")
	if err != nil {
		return storage.Entry{}, err
	}
	var (
		f   *smb2.File
		tmp string
		sh  *smb2.Share
	)
	s, err := b.run(ctx, func(share *smb2.Share) (err error) {
		sh = share
		f, tmp, err = b.createTemp(sh, p)
		return err
	})
	if err != nil {
		return storage.Entry{}, b.mapErr(err, p)
	}
	src := &srcReader{ctx: ctx, r: r}
	var fi os.FileInfo
	err = writeAll(f, src)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		fi, err = statFile(f)
	}
	err = b.closeFile(s, f, err)
	if err == nil && fi == nil {
		fi, err = sh.Stat(tmp)
	}
	if err == nil {
		err = b.rename(sh, tmp, p)
	}
	if err != nil {
		b.fail(s, err)
		b.release(s)
		b.removeTemp(ctx, tmp)
		return storage.Entry{}, b.copyErr(ctx, err, src.err, p)
	}
	b.release(s)
	return entryOf(p, fi), nil
}

// Rename implements storage.Backend.
func (b *Backend) Rename(ctx context.Context, src, dst string) error {
	src, dst, err := storage.CleanPair(src, dst)
	if err != nil {
		return err
	}
	return b.do(ctx, func(sh *smb2.Share) error {
		if _, err := sh.Lstat(b.full(src)); err != nil {
			return b.mapErr(err, src)
		}
		if err := b.absent(sh, dst); err != nil && !b.sameName(sh, src, dst) {
			return err
		}
		if err := b.mkdirParents(sh, dst); err != nil {
			return err
		}
		if err := sh.Rename(b.full(src), b.full(dst)); err != nil {
			return b.mapErr(err, dst)
		}
		return nil
	})
}

// Copy implements storage.Backend. Files up to 16 MiB are copied on the server
// (FSCTL_SRV_COPYCHUNK), larger ones, and all when the server cannot, are streamed
// through the client in 1 MiB chunks.
func (b *Backend) Copy(ctx context.Context, src, dst string) error {
	src, dst, err := storage.CleanPair(src, dst)
	if err != nil {
		return err
	}
	var (
		sh    *smb2.Share
		sf, f *smb2.File
		size  int64
		tmp   string
	)
	s, err := b.run(ctx, func(share *smb2.Share) error {
		sh = share
		fi, err := sh.Stat(b.full(src))
		if err != nil {
			return b.mapErr(err, src)
		}
		if isDir(fi) {
			return filefleet.Errorf(filefleet.EINVALID, "%q is a directory", src)
		}
		size = fi.Size()
		if err := b.absent(sh, dst); err != nil {
			return err
		}
		if sf, err = sh.Open(b.full(src)); err != nil {
			return b.mapErr(err, src)
		}
		if f, tmp, err = b.createTemp(sh, dst); err != nil {
			_ = sf.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return b.mapErr(err, dst)
	}
	src2 := &srcReader{ctx: ctx, r: sf}
	err = func() error {
		if err := copyFile(ctx, f, sf, src2, size); err != nil {
			return err
		}
		return f.Sync()
	}()
	err = b.closeFile(s, f, err)
	err = b.closeFile(s, sf, err)
	if err == nil {
		err = b.absent(sh, dst) // created while copying
	}
	if err == nil {
		err = b.rename(sh, tmp, dst)
	}
	if err != nil {
		b.fail(s, err)
		b.release(s)
		b.removeTemp(ctx, tmp)
		return b.copyErr(ctx, err, nil, dst)
	}
	b.release(s)
	return nil
}

// Remove implements storage.Backend. It also removes empty directories; a directory that
// is not empty gives ECONFLICT.
func (b *Backend) Remove(ctx context.Context, p string) error {
	p, err := storage.CleanFilePath(p, "remove")
	if err != nil {
		return err
	}
	err = b.do(ctx, func(sh *smb2.Share) error { return sh.Remove(b.full(p)) })
	if err != nil {
		return b.mapErr(err, p)
	}
	return nil
}

// Close implements storage.Backend: it logs off every session. Readers still open fail.
func (b *Backend) Close() error {
	b.mu.Lock()
	sessions := b.sessions
	b.sessions, b.closed = nil, true
	b.mu.Unlock()
	for _, s := range sessions {
		logoff(s)
	}
	return nil
}

// Share is a share a server offers.
type Share struct {
	Name    string `json:"name"`
	Comment string `json:"comment"`
	Type    string `json:"type"` // "disktree" for file shares; "printq", "device" or "unknown"
}

// ListShares logs in to the server of cfg (cfg.Share and cfg.Path are ignored) and returns
// its shares sorted by name, without IPC$, the administrative shares (C$, ADMIN$) and
// others the server marks special or whose names end in "$". Errors are as Check's.
func ListShares(ctx context.Context, cfg Config) ([]Share, error) {
	cfg, addr, err := normConfig(cfg)
	if err != nil {
		return nil, err
	}
	b := &Backend{cfg: cfg, addr: addr}
	sess, err := b.dialSession(ctx)
	if err != nil {
		return nil, b.mapErr(err, "")
	}
	defer logoffSession(sess)
	infos, err := sess.WithContext(ctx).ListShares()
	if err != nil {
		return nil, b.mapErr(err, "")
	}
	var shares []Share
	for _, s := range infos {
		if s.IsSpecial() || s.Type() == smb2.ShareTypeIPC || strings.HasSuffix(s.Name, "$") {
			continue
		}
		shares = append(shares, Share{Name: s.Name, Comment: s.Comment, Type: s.Type().String()})
	}
	sort.Slice(shares, func(i, j int) bool { return shares[i].Name < shares[j].Name })
	return shares, nil
}

// ---- sessions ----

// do calls fn with the share of a session of the pool. When fn fails with a
// connection-level error, the session is dropped and fn runs once more on a new one.
func (b *Backend) do(ctx context.Context, fn func(sh *smb2.Share) error) error {
	s, err := b.run(ctx, fn)
	if err == nil {
		b.release(s)
	}
	return err
}

// run is do that keeps the session when fn succeeds: the caller must release it.
func (b *Backend) run(ctx context.Context, fn func(sh *smb2.Share) error) (*session, error) {
	for attempt := 0; ; attempt++ {
		s, err := b.acquire(ctx)
		if err != nil {
			return nil, err
		}
		err = fn(s.share.WithContext(ctx))
		if err == nil {
			return s, nil
		}
		b.fail(s, err)
		b.release(s)
		if attempt > 0 || ctx.Err() != nil || !isConnErr(err) {
			return nil, err
		}
	}
}

// fail retires s after err when s may be unusable: its connection broke, or ctx ended
// during a request, which may leave a file handle open on the server (logging off closes
// it).
func (b *Backend) fail(s *session, err error) {
	if isConnErr(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		b.retire(s)
	}
}

// acquire returns a session for an operation: an idle one, a new one while there are
// fewer than MaxSessions, else the least busy.
func (b *Backend) acquire(ctx context.Context) (*session, error) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, fmt.Errorf("smb backend for %s is closed", b.addr)
		}
		var pick *session
		n := len(b.sessions)
		for i := range n {
			s := b.sessions[(b.next+i)%n]
			if pick == nil || s.users < pick.users {
				pick = s
			}
		}
		if (pick == nil || pick.users > 0) && n+b.dialing < MaxSessions {
			b.dialing++
			b.mu.Unlock()
			s, err := b.dial(ctx)
			b.mu.Lock()
			b.dialing--
			close(b.dialed)
			b.dialed = make(chan struct{})
			if err == nil && b.closed {
				err = fmt.Errorf("smb backend for %s is closed", b.addr)
				defer logoff(s)
			}
			if err != nil {
				b.mu.Unlock()
				return nil, err
			}
			s.users++
			b.sessions = append(b.sessions, s)
			b.mu.Unlock()
			return s, nil
		}
		if pick != nil {
			pick.users++
			b.next++
			b.mu.Unlock()
			return pick, nil
		}
		dialed := b.dialed // every slot is being dialed: wait for one
		b.mu.Unlock()
		select {
		case <-dialed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release ends an operation's use of s.
func (b *Backend) release(s *session) {
	b.mu.Lock()
	s.users--
	done := s.retired && s.users == 0
	b.mu.Unlock()
	if done {
		logoff(s)
	}
}

// retire takes s out of the pool; it is logged off once its last user releases it.
func (b *Backend) retire(s *session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.retired {
		return
	}
	s.retired = true
	for i, x := range b.sessions {
		if x == s {
			b.sessions = append(b.sessions[:i], b.sessions[i+1:]...)
			break
		}
	}
}

// dial connects, logs in and mounts the share.
func (b *Backend) dial(ctx context.Context) (*session, error) {
	sess, err := b.dialSession(ctx)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	share, err := sess.WithContext(sctx).Mount(b.cfg.Share, smb2.WithMapPosix())
	if err != nil {
		logoffSession(sess)
		var re *smb2.ResponseError
		if errors.As(err, &re) && re.Code == statusBadNetworkName {
			return nil, filefleet.WrapError(filefleet.ENOTFOUND, err, "share %q not found on %s", b.cfg.Share, b.addr)
		}
		if errors.Is(err, os.ErrPermission) {
			return nil, filefleet.WrapError(filefleet.EFORBIDDEN, err, "user %q may not use share %q on %s", b.cfg.Username, b.cfg.Share, b.addr)
		}
		return nil, err
	}
	return &session{sess: sess, share: share}, nil
}

// dialSession connects to the server and logs in.
func (b *Backend) dialSession(ctx context.Context) (*smb2.Session, error) {
	nd := net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	conn, err := nd.DialContext(ctx, "tcp", b.addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, filefleet.WrapError(filefleet.EUNAVAILABLE, err, "cannot connect to the SMB server at %s", b.addr)
	}
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	d := &smb2.Dialer{MaxCreditBalance: maxCreditBalance, Initiator: &smb2.NTLMInitiator{
		User:     b.cfg.Username,
		Password: b.cfg.Password,
		Domain:   b.cfg.Domain,
	}}
	sess, err := d.DialConn(sctx, conn, b.cfg.Host)
	if err != nil {
		_ = conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, filefleet.WrapError(filefleet.EUNAVAILABLE, err,
				"the SMB server at %s did not complete the login within %s", b.addr, setupTimeout)
		}
		return nil, err
	}
	return sess, nil
}

func logoff(s *session) { logoffSession(s.sess) }

// logoffSession ends sess and closes its connection (go-smb2 closes it however the
// LOGOFF request turns out).
func logoffSession(sess *smb2.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_ = sess.WithContext(ctx).Logoff()
}

// isConnErr reports whether err means the session or its connection is unusable.
func isConnErr(err error) bool {
	var te *smb2.TransportError
	var re *smb2.ResponseError
	var ne net.Error
	switch {
	case err == nil:
		return false
	case errors.As(err, &te):
		return true
	case errors.As(err, &re):
		switch re.Code {
		case statusUserSessionDeleted, statusNetworkNameDeleted, statusNetworkSessionExpired,
			statusConnectionDisconnect, statusConnectionReset:
			return true
		}
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, os.ErrDeadlineExceeded):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	return false
}

// ---- files ----

// full returns the share path of a cleaned root-relative path.
func (b *Backend) full(p string) string {
	switch {
	case b.base == "":
		return p
	case p == "":
		return b.base
	}
	return b.base + "/" + p
}

// createTemp creates p's parents when needed and a new temporary file next to p, open for
// reading (FSCTL_SRV_COPYCHUNK needs it) and writing. It returns the file and its share
// path.
func (b *Backend) createTemp(sh *smb2.Share, p string) (*smb2.File, string, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(b.full(p)), TempPrefix+hex.EncodeToString(rnd[:]))
	if path.Dir(b.full(p)) == "." {
		tmp = TempPrefix + hex.EncodeToString(rnd[:])
	}
	const flags = os.O_RDWR | os.O_CREATE | os.O_EXCL
	f, err := sh.OpenFile(tmp, flags, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		if err := b.mkdirParents(sh, p); err != nil {
			return nil, "", err
		}
		f, err = sh.OpenFile(tmp, flags, 0o644)
	}
	if err != nil {
		return nil, "", b.mapErr(err, p)
	}
	return f, tmp, nil
}

// closeFile closes f; a failure to close retires s (the handle may stay open on the
// server until the session ends). It returns err, or the close error when err is nil.
func (b *Backend) closeFile(s *session, f *smb2.File, err error) error {
	if cerr := f.Close(); cerr != nil {
		b.retire(s)
		if err == nil {
			err = cerr
		}
	}
	return err
}

// rename moves the temporary file tmp to p, replacing a file there (go-smb2 sets
// ReplaceIfExists).
func (b *Backend) rename(sh *smb2.Share, tmp, p string) error {
	err := sh.Rename(tmp, b.full(p))
	if err == nil {
		return nil
	}
	if !isConnErr(err) {
		if fi, serr := sh.Stat(b.full(p)); serr == nil && isDir(fi) {
			return filefleet.WrapError(filefleet.ECONFLICT, err, "%q is a directory", p)
		}
	}
	return b.mapErr(err, p)
}

// removeTemp removes the temporary file tmp on any session, even after ctx has ended.
func (b *Backend) removeTemp(ctx context.Context, tmp string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_ = b.do(ctx, func(sh *smb2.Share) error {
		err := sh.Remove(tmp)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	})
}

// copyErr maps the error of a Put or Copy: the error of the source reader, ctx's error or
// the SMB error.
func (b *Backend) copyErr(ctx context.Context, err, srcErr error, p string) error {
	switch {
	case srcErr != nil:
		return fmt.Errorf("read the data for %q: %w", p, srcErr)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return b.mapErr(err, p)
}

// mkdirParents creates the directories above p.
func (b *Backend) mkdirParents(sh *smb2.Share, p string) error {
	dir := path.Dir(b.full(p))
	if dir == "." {
		return nil
	}
	err := sh.MkdirAll(dir, 0o755)
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, os.ErrExist) {
		return filefleet.WrapError(filefleet.ECONFLICT, err, "a parent of %q is not a directory", p)
	} else if err != nil {
		return b.mapErr(err, path.Dir(p))
	}
	return nil
}

// absent returns ECONFLICT when p exists.
func (b *Backend) absent(sh *smb2.Share, p string) error {
	_, err := sh.Lstat(b.full(p))
	if err == nil {
		return filefleet.Errorf(filefleet.ECONFLICT, "%q already exists", p)
	} else if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return b.mapErr(err, p)
}

// ancestorOf reports whether the directory of server file id is dir or a directory above it.
// A cached id that matches is read again first: the directory may have been replaced and its
// id reused since.
func (b *Backend) ancestorOf(sh *smb2.Share, id uint64, dir string) bool {
	for d := dir; ; d = path.Dir(d) {
		if d == "." {
			d = ""
		}
		if b.dirID(sh, d, false) == id && b.dirID(sh, d, true) == id {
			return true
		}
		if d == "" {
			return false
		}
	}
}

// dirID returns the server file id of directory p (0 if unknown), from the cache unless
// fresh, else from an open handle.
func (b *Backend) dirID(sh *smb2.Share, p string, fresh bool) uint64 {
	if id, ok := b.dirIDs.get(p); ok && !fresh {
		return id
	}
	id := b.fileID(sh, p)
	b.dirIDs.put(p, id)
	return id
}

// fileID returns the server file id of p (0 if unknown): Share.Stat does not carry it, the
// stat of an open handle does.
func (b *Backend) fileID(sh *smb2.Share, p string) uint64 {
	f, err := sh.Open(b.full(p))
	if err != nil {
		return 0
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	return fileStat(fi).FileId
}

// sameName reports whether dst, which exists, is src itself under a name that differs only
// in letter case (SMB servers usually ignore case): renaming to it changes the case. The
// server's file ids tell.
func (b *Backend) sameName(sh *smb2.Share, src, dst string) bool {
	if !strings.EqualFold(src, dst) {
		return false
	}
	a := b.fileID(sh, src)
	return a != 0 && a == b.fileID(sh, dst)
}

// copyFile copies src (size bytes) to the empty file dst on the same share: on the server
// up to maxServerCopy, else, or when the server refuses, through the client.
func copyFile(ctx context.Context, dst, src *smb2.File, srcR *srcReader, size int64) error {
	if size <= maxServerCopy {
		// io.Copy calls src.WriteTo(dst), which sends FSCTL_SRV_COPYCHUNK (streaming when
		// the server does not support it).
		n, err := io.Copy(dst, src)
		if err == nil && n == size {
			return nil
		}
		if isConnErr(err) || ctx.Err() != nil {
			return err
		}
		// The server refused: start over through the client.
		if err := dst.Truncate(0); err != nil {
			return err
		}
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := dst.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return writeAll(dst, srcR)
}

var buffers = sync.Pool{New: func() any { return new([bufferSize]byte) }}

// writeAll copies r to f in writes of up to 1 MiB, with a buffer from a pool (go-smb2's
// File.ReadFrom allocates 1 MiB per call, even for an empty r).
func writeAll(f *smb2.File, r io.Reader) error {
	buf := buffers.Get().(*[bufferSize]byte)
	defer buffers.Put(buf)
	for {
		n, err := fill(r, buf[:])
		if n > 0 {
			if _, werr := f.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// fill reads from r until buf is full or r ends (io.EOF) or fails.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// statFile returns the information of the open file f, or nil and no error when the
// server rejects the query for lack of credits (see maxCreditBalance): then the caller
// stats the file by name.
func statFile(f *smb2.File) (os.FileInfo, error) {
	fi, err := f.Stat()
	var re *smb2.ResponseError
	if errors.As(err, &re) && re.Code == statusInvalidParameter {
		return nil, nil
	}
	return fi, err
}

// readdir reads all entries of the directory f. It retries a query the server rejects with
// STATUS_INVALID_PARAMETER a few times (see maxCreditBalance); go-smb2 keeps the entries
// read so far, so a retry goes on where the failed query stopped.
func readdir(ctx context.Context, f *smb2.File) ([]os.FileInfo, error) {
	for attempt := 1; ; attempt++ {
		fis, err := f.Readdir(-1)
		var re *smb2.ResponseError
		if attempt == 5 || ctx.Err() != nil || !errors.As(err, &re) || re.Code != statusInvalidParameter {
			return fis, err
		}
		time.Sleep(time.Duration(attempt) * 10 * time.Millisecond)
	}
}

func fileStat(fi os.FileInfo) *smb2.FileStat {
	if st, ok := fi.Sys().(*smb2.FileStat); ok {
		return st
	}
	return &smb2.FileStat{}
}

// isDir reports whether fi is a directory. FileInfo.Mode is not used: it marks every
// reparse point (Windows deduplicated and cloud files too) as a symlink.
func isDir(fi os.FileInfo) bool {
	if st, ok := fi.Sys().(*smb2.FileStat); ok {
		return st.FileAttributes&attrDirectory != 0
	}
	return fi.IsDir()
}

// isLink reports whether a directory entry is a symlink or junction.
func isLink(st *smb2.FileStat) bool {
	return st.FileAttributes&attrReparsePoint != 0 &&
		(st.ReparsePointTag == reparseTagSymlink || st.ReparsePointTag == reparseTagMountPoint)
}

func entryOf(p string, fi os.FileInfo) storage.Entry {
	e := storage.Entry{Path: p, ModTime: fi.ModTime(), IsDir: isDir(fi)}
	if !e.IsDir {
		e.Size = fi.Size()
		// The server's file id (the inode on Samba) is the same for every path of one file
		// (hard links, and links the server follows). Listings carry it; Share.Stat does not.
		if id := fileStat(fi).FileId; id != 0 {
			e.FileKey = fmt.Sprintf("smb:%d", id)
		}
	}
	return e
}

// mapErr turns a go-smb2 error about path p into a *filefleet.Error where a code fits.
// Messages name the server, share and user, never the password.
func (b *Backend) mapErr(err error, p string) error {
	var fe *filefleet.Error
	var re *smb2.ResponseError
	var ir *smb2.InvalidResponseError
	switch {
	case errors.As(err, &fe):
		return err
	case errors.Is(err, context.Canceled):
		return err
	case isConnErr(err), errors.Is(err, context.DeadlineExceeded):
		return filefleet.WrapError(filefleet.EUNAVAILABLE, err, "lost the connection to the SMB server at %s", b.addr)
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return filefleet.WrapError(filefleet.ENOTFOUND, err, "%q not found", p)
	case errors.Is(err, os.ErrExist):
		return filefleet.WrapError(filefleet.ECONFLICT, err, "%q already exists", p)
	case errors.Is(err, os.ErrPermission):
		return filefleet.WrapError(filefleet.EFORBIDDEN, err, "permission denied on %q in share %q", p, b.cfg.Share)
	case errors.Is(err, smb2.ErrRequestNotAccepted):
		return filefleet.WrapError(filefleet.EUNAVAILABLE, err, "the SMB server at %s accepts no more connections", b.addr)
	case errors.As(err, &ir) && strings.Contains(ir.Message, "guest"):
		return filefleet.WrapError(filefleet.EFORBIDDEN, err,
			"the SMB server refused the username or password (user %q on %s; it offered a guest login)", b.cfg.Username, b.addr)
	case errors.As(err, &re):
		switch re.Code {
		case statusLogonFailure, statusWrongPassword, statusNoSuchUser, statusAccountRestriction,
			statusPasswordExpired, statusAccountDisabled, statusAccountExpired, statusPasswordMustChange,
			statusAccountLockedOut:
			return filefleet.WrapError(filefleet.EFORBIDDEN, err,
				"the SMB server refused the username or password (user %q on %s)", b.cfg.Username, b.addr)
		case statusBadNetworkName:
			return filefleet.WrapError(filefleet.ENOTFOUND, err, "share %q not found on %s", b.cfg.Share, b.addr)
		case statusNetworkAccessDenied, statusMediaWriteProtected:
			return filefleet.WrapError(filefleet.EFORBIDDEN, err, "permission denied on %q in share %q", p, b.cfg.Share)
		case statusDirectoryNotEmpty:
			return filefleet.WrapError(filefleet.ECONFLICT, err, "directory %q is not empty", p)
		case statusFileIsADirectory:
			return filefleet.WrapError(filefleet.ECONFLICT, err, "%q is a directory", p)
		case statusNotADirectory, statusDeletePending:
			return filefleet.WrapError(filefleet.ENOTFOUND, err, "%q not found", p)
		case statusSharingViolation:
			return filefleet.WrapError(filefleet.ECONFLICT, err, "%q is in use by another client", p)
		case statusObjectNameInvalid, statusObjectPathInvalid, statusObjectPathSyntaxBad, statusNameTooLong:
			return filefleet.WrapError(filefleet.EINVALID, err, "%q is not a valid name on the SMB server", p)
		case statusNotSupported, statusInvalidParameter, statusInvalidDeviceRequest:
			return filefleet.WrapError(filefleet.EINVALID, err, "the SMB server does not support this operation on %q", p)
		case statusDiskFull:
			return fmt.Errorf("share %q on %s is full writing %q: %w", b.cfg.Share, b.addr, p, err)
		}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return filefleet.WrapError(filefleet.EUNAVAILABLE, err, "the SMB server at %s is unreachable", b.addr)
	}
	return fmt.Errorf("smb //%s/%s/%s: %w", b.addr, b.cfg.Share, b.full(p), err)
}

// ---- readers ----

// reader reads [off, end) of an open file.
type reader struct {
	b        *Backend
	s        *session
	f        *smb2.File
	ctx      context.Context
	p        string
	off, end int64
	closed   bool
}

// Read implements io.Reader with one request of up to len(p) bytes (go-smb2 splits
// larger ones into 1 MiB requests).
func (r *reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, os.ErrClosed
	}
	if r.off >= r.end {
		return 0, io.EOF
	}
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	p = p[:min(int64(len(p)), r.end-r.off)]
	n, err := r.f.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF {
		// The file shrank since Open.
		r.end = r.off
		if n > 0 {
			return n, nil
		}
		return 0, io.EOF
	}
	if err != nil {
		r.b.fail(r.s, err)
		return n, r.b.copyErr(r.ctx, err, nil, r.p)
	}
	return n, nil
}

// WriteTo implements io.WriterTo with 1 MiB reads, which io.Copy uses whatever w is.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	var buf []byte
	if r.end-r.off < 64<<10 {
		buf = make([]byte, max(r.end-r.off, 1))
	} else {
		b := buffers.Get().(*[bufferSize]byte)
		defer buffers.Put(b)
		buf = b[:]
	}
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			nw, werr := w.Write(buf[:n])
			total += int64(nw)
			if werr != nil {
				return total, werr
			}
			if nw != n {
				return total, io.ErrShortWrite
			}
		}
		if err == io.EOF {
			return total, nil
		} else if err != nil {
			return total, err
		}
	}
}

// Close closes the file and gives back the session.
func (r *reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.b.closeFile(r.s, r.f, nil)
	r.b.release(r.s)
	if err != nil && r.ctx.Err() == nil && !isConnErr(err) {
		return r.b.mapErr(err, r.p)
	}
	return nil
}

// srcReader reads the data of a Put or Copy: it stops once ctx ends and keeps the error
// of the underlying reader.
type srcReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (r *srcReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
