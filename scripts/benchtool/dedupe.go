package main

// The subcommands of scripts/bench-dedupe.sh:
//
//	benchtool gentree     -dir D -files 20000 -bytes 2147483648 -dup-percent 20 -seed 1
//	benchtool fillfromdir -dir D -bucket ffbench-dedupe -endpoint ... -access-key ... -secret-key ...
//	benchtool ffdedupe    -api URL -root NAME -spec '{"kind":"local","path":"D"}' -expect-groups N
//	benchtool ffhash      -api URL -root NAME -spec '{"kind":"local","path":"D"}' -expect-bytes N
//
// gentree and fillfromdir print one "key=value ..." line on stdout with what the tree or
// bucket holds; ffdedupe and ffhash print one with their timings.

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"
)

// treeParams are gentree's parameters; a manifest with the same ones means the tree is there.
type treeParams struct {
	Version    int    `json:"version"` // of the generator: bump when the tree it writes changes
	Files      int    `json:"files"`
	Bytes      int64  `json:"bytes"`
	DupPercent int    `json:"dup_percent"`
	Seed       uint64 `json:"seed"`
	MaxSize    int64  `json:"max_size"`
	Flat       bool   `json:"flat,omitempty"` // every file in the top directory (the organize benchmark's)
}

// treeStats is what a generated tree holds; the duplicate figures are known by construction.
type treeStats struct {
	Files      int   `json:"files"`
	Bytes      int64 `json:"bytes"`
	Groups     int   `json:"duplicate_groups"` // sets of two or more byte-identical files
	Duplicates int   `json:"total_duplicates"` // files beyond the first of each group
	Wasted     int64 `json:"wasted_space"`     // bytes of those files
	SameSize   int   `json:"same_size_different"`
	NearDup    int   `json:"near_duplicates"` // same size, one byte different in the middle
}

type treeManifest struct {
	Params treeParams `json:"params"`
	Stats  treeStats  `json:"stats"`
}

// genFile is one file of the tree: size bytes of the ChaCha8 stream of (seed, stream), with the
// byte at flip (if ≥ 0) inverted. Files with the same (stream, flip, size) are identical.
type genFile struct {
	path   string
	size   int64
	stream uint64
	flip   int64
}

func (f genFile) content() [3]int64 { return [3]int64{int64(f.stream), f.flip, f.size} }

const genVersion = 2

// planTree lays out the tree of p deterministically, without touching the disk.
func planTree(p treeParams) ([]genFile, treeStats) {
	rng := rand.New(rand.NewPCG(p.Seed, 0x66696c65666c6565))
	logUniform := func(lo, hi float64) float64 {
		return math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo)))
	}

	// Directories: 24 top-level ones, each with up to 10 subdirectories, some with up to 4 more.
	dirs := []string{""}
	for t := range 24 {
		top := fmt.Sprintf("d%02d", t)
		dirs = append(dirs, top)
		for s := range rng.IntN(11) {
			sub := fmt.Sprintf("%s/s%02d", top, s)
			dirs = append(dirs, sub)
			if rng.IntN(3) == 0 {
				for x := range 1 + rng.IntN(4) {
					dirs = append(dirs, fmt.Sprintf("%s/x%d", sub, x))
				}
			}
		}
	}
	exts := [][]string{{".txt", ".json", ".md", ".csv", ".go"}, {".jpg", ".png", ".pdf", ".docx"}, {".mp4", ".zip", ".iso", ".tar"}}

	nDup := int(math.Round(float64(p.Files) * float64(p.DupPercent) / 100))
	nOrig := p.Files - nDup
	raw := make([]float64, nOrig) // sizes before scaling to the total
	files := make([]genFile, 0, p.Files)
	const small = 64 << 10
	for i := range nOrig {
		var class int
		switch u := rng.Float64(); {
		case u < 0.585:
			raw[i] = logUniform(10, small)
		case u < 0.985:
			class, raw[i] = 1, logUniform(small, 512<<10)
		default:
			class, raw[i] = 2, logUniform(1<<20, float64(p.MaxSize))
		}
		ext := exts[class][rng.IntN(len(exts[class]))]
		name := fmt.Sprintf("f%05d%s", i, ext)
		if rng.IntN(20) == 0 {
			name = fmt.Sprintf("file %05d%s", i, ext) // some names with a space
		}
		files = append(files, genFile{path: joinKey(dirs[rng.IntN(len(dirs))], name), stream: uint64(i), flip: -1})
	}
	// Same size, different content: one original in 30 takes the size of another; half of
	// those are the other's bytes with one byte changed in the middle (same head and tail, so
	// a partial hash cannot tell them apart).
	var sameSize, nearDup int
	for i := range nOrig {
		if rng.IntN(30) != 0 {
			continue
		}
		j := rng.IntN(nOrig)
		if j == i || files[j].flip >= 0 || files[i].flip >= 0 {
			continue
		}
		raw[i] = raw[j]
		sameSize++
		if raw[j] >= 128<<10 && rng.IntN(2) == 0 {
			files[i].stream, files[i].flip = files[j].stream, 0 // flip set once sizes are known
			nearDup++
		}
	}
	// Duplicates: a copy of an original elsewhere, mostly of one not copied yet, sometimes of
	// one copied already (groups of three and more).
	var sources []int
	for d := range nDup {
		var src int
		if len(sources) > 0 && rng.IntN(10) < 3 {
			src = sources[rng.IntN(len(sources))]
		} else {
			src = rng.IntN(nOrig)
			sources = append(sources, src)
		}
		s := files[src]
		base := s.path[strings.LastIndexByte(s.path, '/')+1:]
		ext := filepath.Ext(base)
		name := fmt.Sprintf("%s-copy%d%s", strings.TrimSuffix(base, ext), d, ext)
		if rng.IntN(4) == 0 {
			name = fmt.Sprintf("Copy %d of %s", d, base)
		}
		files = append(files, genFile{path: joinKey(dirs[rng.IntN(len(dirs))], name), stream: s.stream, flip: s.flip})
		raw = append(raw, raw[src])
	}

	// Scale the sizes of the files of 64 KiB and more so that the tree is p.Bytes in all
	// (bisection on the factor; files stay within p.MaxSize).
	sizeAt := func(r, f float64) int64 {
		if r < small {
			return int64(math.Round(r))
		}
		return max(1, min(p.MaxSize, int64(math.Round(r*f))))
	}
	lo, hi := 0.0, 1.0
	total := func(f float64) (t int64) {
		for _, r := range raw {
			t += sizeAt(r, f)
		}
		return t
	}
	for total(hi) < p.Bytes && hi < 1e6 {
		hi *= 2
	}
	for range 100 {
		mid := (lo + hi) / 2
		if total(mid) < p.Bytes {
			lo = mid
		} else {
			hi = mid
		}
	}
	var st treeStats
	for i := range files {
		files[i].size = sizeAt(raw[i], hi)
		if files[i].flip >= 0 {
			files[i].flip = files[i].size / 2
		}
		st.Bytes += files[i].size
	}
	if p.Flat {
		// The same files, each in the top directory: names are unique without their directories.
		for i := range files {
			files[i].path = files[i].path[strings.LastIndexByte(files[i].path, '/')+1:]
		}
	}
	st.Files, st.SameSize, st.NearDup = len(files), sameSize, nearDup
	count := map[[3]int64]int{}
	for _, f := range files {
		count[f.content()]++
	}
	for c, n := range count {
		if n > 1 {
			st.Groups++
			st.Duplicates += n - 1
			st.Wasted += int64(n-1) * c[2]
		}
	}
	return files, st
}

func joinKey(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// gentree writes the dedupe benchmark's tree (see planTree) under -dir, unless the manifest
// beside it (DIR.manifest, written last) says the same tree is there already.
func gentree(args []string) error {
	fs := flag.NewFlagSet("gentree", flag.ExitOnError)
	dir := fs.String("dir", "", "directory to write the tree into (created; replaced if gentree wrote it before)")
	p := treeParams{Version: genVersion}
	fs.IntVar(&p.Files, "files", 20000, "files")
	fs.Int64Var(&p.Bytes, "bytes", 2<<30, "bytes in all (about)")
	fs.IntVar(&p.DupPercent, "dup-percent", 20, "percent of files that are copies of another")
	fs.Uint64Var(&p.Seed, "seed", 1, "seed")
	fs.Int64Var(&p.MaxSize, "max-size", 12<<20, "largest file (below 16 MiB, so an S3 upload is one part and its ETag its MD5)")
	fs.BoolVar(&p.Flat, "flat", false, "put every file in the top directory")
	workers := fs.Int("workers", 4, "files written at once")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("-dir is required")
	}
	if p.Files < 2 || p.Bytes < int64(p.Files)*10 || p.DupPercent < 0 || p.DupPercent > 50 || p.MaxSize < 64<<10 {
		return errors.New("need -files ≥ 2, -bytes ≥ 10 × files, -dup-percent 0..50, -max-size ≥ 64 KiB")
	}
	d, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	manifest, partial := d+".manifest", d+".partial"
	report := func(st treeStats, what string) {
		fmt.Fprintf(os.Stderr, "bench: %s %s: %d files, %.2f GiB; %d duplicate groups, %d duplicate files, %.1f MiB wasted; %d same-size-different (%d differ in one middle byte)\n",
			d, what, st.Files, float64(st.Bytes)/(1<<30), st.Groups, st.Duplicates, float64(st.Wasted)/(1<<20), st.SameSize, st.NearDup)
		fmt.Printf("files=%d bytes=%d groups=%d duplicates=%d wasted=%d\n", st.Files, st.Bytes, st.Groups, st.Duplicates, st.Wasted)
	}

	var old treeManifest
	raw, err := os.ReadFile(manifest)
	haveManifest := err == nil && json.Unmarshal(raw, &old) == nil
	if haveManifest && old.Params == p {
		if n, b, err := dirTotals(d); err == nil && n == old.Stats.Files && b == old.Stats.Bytes {
			report(old.Stats, "holds its tree already")
			return nil
		}
		fmt.Fprintf(os.Stderr, "bench: %s does not match its manifest any more; writing it again\n", d)
	}
	if entries, err := os.ReadDir(d); err == nil && len(entries) > 0 {
		if _, err := os.Stat(partial); !haveManifest && err != nil {
			return fmt.Errorf("%s holds files that gentree did not write (no %s); empty it or pick another directory", d, filepath.Base(manifest))
		}
		fmt.Fprintf(os.Stderr, "bench: removing the tree gentree wrote before in %s\n", d)
	} else if err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(partial, []byte("gentree is writing "+d+"\n"), 0o644); err != nil {
		return err
	}
	os.Remove(manifest)
	if err := os.RemoveAll(d); err != nil {
		return err
	}

	files, st := planTree(p)
	fmt.Fprintf(os.Stderr, "bench: writing %d files (%.2f GiB) under %s...\n", st.Files, float64(st.Bytes)/(1<<30), d)
	start := time.Now()
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var done atomic.Int64
	g := new(errgroup.Group)
	g.SetLimit(*workers)
	bufs := make(chan []byte, *workers)
	for range *workers {
		bufs <- make([]byte, 1<<20)
	}
	for i, f := range files {
		g.Go(func() error {
			buf := <-bufs
			defer func() { bufs <- buf }()
			path := filepath.Join(d, filepath.FromSlash(f.path))
			if err := writeGenFile(path, f, p.Seed, buf); err != nil {
				return err
			}
			// A fixed mtime, a little different per file, so the tree is the same every time.
			t := mtime.Add(time.Duration(i) * time.Minute)
			if err := os.Chtimes(path, t, t); err != nil {
				return err
			}
			if n := done.Add(1); n%5000 == 0 {
				fmt.Fprintf(os.Stderr, "bench:   %d files written\n", n)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(treeManifest{Params: p, Stats: st}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(manifest, append(b, '\n'), 0o644); err != nil {
		return err
	}
	os.Remove(partial)
	fmt.Fprintf(os.Stderr, "bench: wrote the tree in %.1fs\n", time.Since(start).Seconds())
	report(st, "written")
	return nil
}

// writeGenFile writes f to path through buf (its size is the write size).
func writeGenFile(path string, f genFile, seed uint64, buf []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[0:], seed)
	binary.LittleEndian.PutUint64(key[8:], f.stream)
	copy(key[16:], "filefleet-bench!")
	rd := rand.NewChaCha8(key)
	for off := int64(0); off < f.size; {
		n := int(min(int64(len(buf)), f.size-off))
		rd.Read(buf[:n])
		if f.flip >= off && f.flip < off+int64(n) {
			buf[f.flip-off] ^= 0xff
		}
		if _, err := out.Write(buf[:n]); err != nil {
			out.Close()
			return err
		}
		off += int64(n)
	}
	return out.Close()
}

// dirTotals counts the regular files under dir and their bytes.
func dirTotals(dir string) (files int, bytes int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d iofs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files++
		bytes += info.Size()
		return nil
	})
	return files, bytes, err
}

// fillfromdir makes the bucket (or the part of it under -prefix) hold the files under -dir,
// keyed by -prefix and their slash-separated paths; objects there already with the same size
// are not uploaded again.
func fillfromdir(args []string) error {
	fs := flag.NewFlagSet("fillfromdir", flag.ExitOnError)
	s3 := newS3Flags(fs)
	dir := fs.String("dir", "", "directory to upload")
	conc := fs.Int("concurrency", 16, "uploads at once")
	prune := fs.Bool("prune", false, "delete objects that are not under -dir (else: fail)")
	prefix := fs.String("prefix", "", `key prefix ending in "/" (objects elsewhere in the bucket are left alone)`)
	fs.Parse(args)
	if *dir == "" {
		return errors.New("-dir is required")
	}
	if *prefix != "" && !strings.HasSuffix(*prefix, "/") {
		return errors.New(`-prefix must end in "/"`)
	}

	where := *s3.bucket + "/" + *prefix // for messages
	ctx := context.Background()
	mc, err := s3.bucketClient(ctx, *conc)
	if err != nil {
		return err
	}
	have := map[string]minio.ObjectInfo{}
	for obj := range mc.ListObjects(ctx, *s3.bucket, minio.ListObjectsOptions{Recursive: true, Prefix: *prefix}) {
		if obj.Err != nil {
			return fmt.Errorf("list %s: %w", *s3.bucket, obj.Err)
		}
		have[obj.Key] = obj
	}
	type upload struct {
		key, path string
		size      int64
	}
	var todo, same []upload
	var etags []string
	var files, bytes int64
	err = filepath.WalkDir(*dir, func(path string, d iofs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(*dir, path)
		if err != nil {
			return err
		}
		key := *prefix + filepath.ToSlash(rel)
		files++
		bytes += info.Size()
		obj, ok := have[key]
		delete(have, key)
		if !ok || obj.Size != info.Size() {
			todo = append(todo, upload{key, path, info.Size()})
		} else {
			same = append(same, upload{key, path, info.Size()})
			etags = append(etags, strings.Trim(obj.ETag, `"`))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(have) > 0 && !*prune {
		return fmt.Errorf("bucket %s holds %d objects that are not under %s; empty it or pick another bucket", where, len(have), *dir)
	}
	for key := range have {
		if err := mc.RemoveObject(ctx, *s3.bucket, key, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("remove %s: %w", key, err)
		}
	}
	if len(have) > 0 {
		fmt.Fprintf(os.Stderr, "bench: removed %d objects of bucket %s that are not under %s\n", len(have), where, *dir)
	}
	// Objects of the same size: a single-part upload's ETag is the MD5 of the content, so
	// compare that (a tree made with another seed has the same sizes).
	stale := make([]bool, len(same))
	g := new(errgroup.Group)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, u := range same {
		g.Go(func() error {
			sum, err := fileMD5(u.path)
			stale[i] = err != nil || sum != etags[i]
			return nil
		})
	}
	g.Wait()
	for i, u := range same {
		if stale[i] {
			todo = append(todo, u)
		}
	}
	if len(todo) > 0 {
		var upBytes int64
		for _, u := range todo {
			upBytes += u.size
		}
		fmt.Fprintf(os.Stderr, "bench: uploading %d files (%.2f GiB) of %s to bucket %s, %d at once...\n",
			len(todo), float64(upBytes)/(1<<30), *dir, where, *conc)
		start := time.Now()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(*conc)
		var done atomic.Int64
		for _, u := range todo {
			g.Go(func() error {
				// Single-part uploads (the tree's files are below 16 MiB), so ETags are MD5s.
				_, err := mc.FPutObject(gctx, *s3.bucket, u.key, u.path, minio.PutObjectOptions{
					ContentType: "application/octet-stream", PartSize: 64 << 20})
				if err != nil {
					return fmt.Errorf("put %s: %w", u.key, err)
				}
				if n := done.Add(1); n%5000 == 0 {
					fmt.Fprintf(os.Stderr, "bench:   %d uploaded\n", n)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: uploaded %d objects in %.1fs\n", done.Load(), time.Since(start).Seconds())
	} else {
		fmt.Fprintf(os.Stderr, "bench: bucket %s already holds the %d files of %s\n", where, files, *dir)
	}
	fmt.Printf("objects=%d bytes=%d uploaded=%d\n", files, bytes, len(todo))
	return nil
}

// fileMD5 is the hex MD5 of a file's content.
func fileMD5(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ensureRoot creates root name from the JSON spec unless it exists; it tells whether it did.
func ensureRoot(ctx context.Context, c *client, name, spec string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/roots/"+url.PathEscape(name), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("X-API-Key", os.Getenv("FILEFLEET_API_KEY"))
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return false, nil
	case http.StatusNotFound:
	default:
		return false, fmt.Errorf("GET /roots/%s: %d", name, resp.StatusCode)
	}
	body := map[string]any{}
	if err := json.Unmarshal([]byte(spec), &body); err != nil {
		return false, fmt.Errorf("-spec: %w", err)
	}
	body["name"] = name
	if _, err := c.do(ctx, "POST", "/roots", body); err != nil {
		return false, err
	}
	return true, nil
}

// deleteRoot drops a root the benchmark made, so that every run sees a catalog of the same size.
func deleteRoot(c *client, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := c.do(ctx, "DELETE", "/roots/"+url.PathEscape(name), nil); err != nil {
		fmt.Fprintf(os.Stderr, "bench: warning: cannot delete root %s: %v\n", name, err)
	}
}

// jobFlags are the flags ffdedupe and ffhash share.
type jobFlags struct {
	api, root, spec *string
	poll, timeout   *time.Duration
	keep            *bool
}

func newJobFlags(fs *flag.FlagSet, root string) jobFlags {
	return jobFlags{
		api:     fs.String("api", "", "API base URL (http://host:port/api/v1)"),
		root:    fs.String("root", root, "root name: a new name gives a cold run (hashes are kept per root's catalog rows)"),
		spec:    fs.String("spec", "", `root body as JSON, e.g. {"kind":"local","path":"/tree"} (used if the root does not exist)`),
		poll:    fs.Duration("poll", 50*time.Millisecond, "poll interval"),
		timeout: fs.Duration("timeout", 30*time.Minute, "give up after"),
		keep:    fs.Bool("keep-root", false, "keep the root afterwards (default: delete it if this run created it)"),
	}
}

// begin starts a run of a job subcommand: its context (ending after -timeout), a client, and
// the root (created if missing; created tells). done cancels the context and, unless
// -keep-root, deletes a root this run created.
func (jf jobFlags) begin() (ctx context.Context, c *client, created bool, done func(), err error) {
	ctx, cancel := context.WithTimeout(context.Background(), *jf.timeout)
	c = newClient(*jf.api)
	if created, err = ensureRoot(ctx, c, *jf.root, *jf.spec); err != nil {
		cancel()
		return nil, nil, false, nil, err
	}
	return ctx, c, created, func() {
		if created && !*jf.keep {
			deleteRoot(c, *jf.root)
		}
		cancel()
	}, nil
}

// ffdedupe runs a dedupe scan of one root (created first if missing) and prints its timing
// and result; the clock runs from the POST to the poll that saw the job succeed.
func ffdedupe(args []string) error {
	fs := flag.NewFlagSet("ffdedupe", flag.ExitOnError)
	jf := newJobFlags(fs, "bench-dedupe")
	expectGroups := fs.Int64("expect-groups", -1, "duplicate groups the scan must find (-1: any)")
	expectWasted := fs.Int64("expect-wasted", -1, "wasted bytes the scan must find (-1: any)")
	fs.Parse(args)

	ctx, c, _, done, err := jf.begin()
	if err != nil {
		return err
	}
	defer done()
	j, elapsed, err := runJob(ctx, c, "/dedupe/scan", map[string]any{"roots": []string{*jf.root}}, *jf.poll)
	if err != nil {
		return err
	}
	var res struct {
		Groups     int64            `json:"duplicate_groups"`
		Duplicates int64            `json:"total_duplicates"`
		Wasted     int64            `json:"wasted_space"`
		Candidates int64            `json:"candidates"`
		BytesRead  map[string]int64 `json:"bytes_read"`
		FilesRead  map[string]int64 `json:"files_read"`
	}
	if err := json.Unmarshal(j.Result, &res); err != nil {
		return fmt.Errorf("dedupe job %s result %.300s: %w", j.ID, j.Result, err)
	}
	if *expectGroups >= 0 && res.Groups != *expectGroups {
		return fmt.Errorf("dedupe job %s found %d duplicate groups, want %d (result %s)", j.ID, res.Groups, *expectGroups, j.Result)
	}
	if *expectWasted >= 0 && res.Wasted != *expectWasted {
		return fmt.Errorf("dedupe job %s found %d wasted bytes, want %d (result %s)", j.ID, res.Wasted, *expectWasted, j.Result)
	}
	fmt.Printf("seconds=%.3f groups=%d duplicates=%d wasted=%d candidates=%d bytes_read_partial=%d bytes_read_full=%d files_read_partial=%d files_read_full=%d server_seconds=%.3f job=%s\n",
		elapsed.Seconds(), res.Groups, res.Duplicates, res.Wasted, res.Candidates, res.BytesRead["partial"], res.BytesRead["full"],
		res.FilesRead["partial"], res.FilesRead["full"], serverSeconds(j), j.ID)
	return nil
}

// ffhash scans a root into the catalog (untimed, if this run created it) and then times a hash
// job over it: from the POST to the poll that saw it succeed.
func ffhash(args []string) error {
	fs := flag.NewFlagSet("ffhash", flag.ExitOnError)
	jf := newJobFlags(fs, "bench-hash")
	expectBytes := fs.Int64("expect-bytes", -1, "bytes the hash job must read (-1: any)")
	fs.Parse(args)

	ctx, c, created, done, err := jf.begin()
	if err != nil {
		return err
	}
	defer done()
	var scanSeconds float64
	if created {
		_, d, err := runJob(ctx, c, "/jobs", map[string]any{"type": "scan", "root": *jf.root}, *jf.poll)
		if err != nil {
			return fmt.Errorf("scan before hashing: %w", err)
		}
		scanSeconds = d.Seconds()
	}
	j, elapsed, err := runJob(ctx, c, "/jobs", map[string]any{"type": "hash", "root": *jf.root}, *jf.poll)
	if err != nil {
		return err
	}
	var res struct {
		Files     int64 `json:"files"`
		Hashed    int64 `json:"hashed"`
		Unchanged int64 `json:"unchanged"`
		Changed   int64 `json:"changed"`
		BytesRead int64 `json:"bytes_read"`
	}
	if err := json.Unmarshal(j.Result, &res); err != nil {
		return fmt.Errorf("hash job %s result %.300s: %w", j.ID, j.Result, err)
	}
	if res.Unchanged > 0 || res.Changed > 0 {
		return fmt.Errorf("hash job %s was not a cold run: %s (use a new root name)", j.ID, j.Result)
	}
	if *expectBytes >= 0 && res.BytesRead != *expectBytes {
		return fmt.Errorf("hash job %s read %d bytes, want %d (result %s)", j.ID, res.BytesRead, *expectBytes, j.Result)
	}
	fmt.Printf("seconds=%.3f bytes=%d mb_per_s=%.1f files=%d hashed=%d server_seconds=%.3f scan_seconds=%.3f job=%s\n",
		elapsed.Seconds(), res.BytesRead, float64(res.BytesRead)/1e6/elapsed.Seconds(), res.Files, res.Hashed,
		serverSeconds(j), scanSeconds, j.ID)
	return nil
}
