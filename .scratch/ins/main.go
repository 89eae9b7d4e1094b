package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/filefleet/filefleet/store"
)

func main() {
	ctx := context.Background()
	db, err := store.Open(ctx, os.Args[1])
	if err != nil {
		panic(err)
	}
	for _, stmt := range os.Args[2:] {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			panic(err)
		}
	}
	var rootID int64
	if err := db.GetContext(ctx, &rootID, `INSERT INTO roots (name, kind) VALUES ('r' || floor(random()*1e9)::text, 'local') RETURNING id`); err != nil {
		panic(err)
	}
	start := time.Now()
	now := time.Now()
	for b := 0; b < 100; b++ {
		files := make([]store.ScannedFile, 1000)
		for i := range files {
			files[i] = store.ScannedFile{Path: fmt.Sprintf("top%02d/sub%d/file-%06d-some-longer-name.jpg", b/10, b%10, b*1000+i),
				Size: int64(i * 1000), ModTime: now, ETag: fmt.Sprintf("%032x", b*1000+i)}
		}
		if err := store.UpsertFiles(ctx, db, rootID, 1, files); err != nil {
			panic(err)
		}
	}
	fmt.Printf("100k upserts: %s\n", time.Since(start))
}
