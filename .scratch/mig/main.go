package main

import (
	"context"
	"fmt"
	"os"

	"github.com/filefleet/filefleet/store"
)

func main() {
	db, err := store.Open(context.Background(), os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	db.Close()
	fmt.Println("migrated")
}
