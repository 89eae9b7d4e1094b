package main

// The subcommand of scripts/bench-organize.sh (its tree is written by gentree -flat and put in
// the bucket by fillfromdir -prefix):
//
//	benchtool fforganize -api URL -root NAME -spec '{"kind":"local","path":"D"}' -methodology by_extension -moves FILE
//
// It prints one "key=value ..." line with its timings.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// organizePlan is the part of GET /organize/plans/{id} the benchmark reads.
type organizePlan struct {
	Counts map[string]int64 `json:"counts"`
	Items  []struct {
		Seq     int    `json:"seq"`
		Path    string `json:"path"`
		DstPath string `json:"dst_path"`
	} `json:"items"`
}

// fforganize runs an organize scan of a directory of one root (created first if missing; not
// timed), writes the plan's moves to -moves, then times the execute job: from the POST to the
// poll that saw it succeed. The plan's journal must say every move is done.
func fforganize(args []string) error {
	fs := flag.NewFlagSet("fforganize", flag.ExitOnError)
	jf := newJobFlags(fs, "bench-organize")
	dir := fs.String("path", "", "directory of the root to organize (default: all of it)")
	methodology := fs.String("methodology", "by_extension", "organize methodology")
	movesOut := fs.String("moves", "", `write the plan's moves here, one "src<TAB>dst" line each (paths in the root)`)
	expectMoves := fs.Int("expect-moves", -1, "moves the plan must hold (-1: any)")
	fs.Parse(args)

	ctx, c, _, done, err := jf.begin()
	if err != nil {
		return err
	}
	defer done()
	scan, scanTime, err := runJob(ctx, c, "/organize/scan",
		map[string]any{"root": *jf.root, "path": *dir, "methodology": *methodology}, *jf.poll)
	if err != nil {
		return fmt.Errorf("organize scan: %w", err)
	}
	var res struct {
		Files   int64  `json:"files"`
		PlanID  string `json:"plan_id"`
		Summary struct {
			Moves   int `json:"moves"`
			Renamed int `json:"renamed"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(scan.Result, &res); err != nil || res.PlanID == "" {
		return fmt.Errorf("organize job %s result %.300s: no plan (%v)", scan.ID, scan.Result, err)
	}
	if *expectMoves >= 0 && res.Summary.Moves != *expectMoves {
		return fmt.Errorf("organize job %s planned %d moves, want %d", scan.ID, res.Summary.Moves, *expectMoves)
	}
	plan, err := getOrganizePlan(ctx, c, res.PlanID)
	if err != nil {
		return err
	}
	if len(plan.Items) != res.Summary.Moves {
		return fmt.Errorf("plan %s lists %d items, its summary %d moves", res.PlanID, len(plan.Items), res.Summary.Moves)
	}
	if *movesOut != "" {
		if err := writeMoves(*movesOut, plan); err != nil {
			return err
		}
	}

	j, elapsed, err := runJob(ctx, c, "/organize/execute", map[string]any{"plan_id": res.PlanID}, *jf.poll)
	if err != nil {
		return fmt.Errorf("organize execute: %w", err)
	}
	after, err := getOrganizePlan(ctx, c, res.PlanID)
	if err != nil {
		return err
	}
	if done := after.Counts["move/done"]; done != int64(len(plan.Items)) || len(after.Counts) != 1 {
		return fmt.Errorf("execute job %s: plan %s journal counts %v, want move/done %d", j.ID, res.PlanID, after.Counts, len(plan.Items))
	}
	fmt.Printf("seconds=%.3f moves=%d files_per_s=%.1f files=%d renamed=%d server_seconds=%.3f scan_seconds=%.3f job=%s plan=%s\n",
		elapsed.Seconds(), len(plan.Items), float64(len(plan.Items))/elapsed.Seconds(), res.Files, res.Summary.Renamed,
		serverSeconds(j), scanTime.Seconds(), j.ID, res.PlanID)
	return nil
}

func getOrganizePlan(ctx context.Context, c *client, id string) (*organizePlan, error) {
	env, err := c.do(ctx, "GET", "/organize/plans/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, err
	}
	var p organizePlan
	if err := json.Unmarshal(env.Data, &p); err != nil {
		return nil, fmt.Errorf("plan %s: %w", id, err)
	}
	return &p, nil
}

// writeMoves writes a plan's moves in the order of the plan, one "src<TAB>dst" line each.
func writeMoves(name string, p *organizePlan) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, it := range p.Items {
		if strings.ContainsAny(it.Path+it.DstPath, "\t\n") {
			f.Close()
			return fmt.Errorf("plan item %d: %q → %q holds a tab or a newline", it.Seq, it.Path, it.DstPath)
		}
		fmt.Fprintf(w, "%s\t%s\n", it.Path, it.DstPath)
	}
	return errors.Join(w.Flush(), f.Close())
}
