package logctx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestContextAttributesOnEveryLine(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewJSONHandler(&buf, nil))).With("worker", "w1")
	ctx := With(context.Background(), slog.String("job_id", "j1"))
	ctx = With(ctx, slog.String("task_id", "j1:root"))
	log.InfoContext(ctx, "task done", "files", 3)
	log.Info("no context")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	var first, second map[string]any
	require.NoError(t, json.Unmarshal(lines[0], &first))
	require.NoError(t, json.Unmarshal(lines[1], &second))
	require.Equal(t, "j1", first["job_id"])
	require.Equal(t, "j1:root", first["task_id"])
	require.Equal(t, "w1", first["worker"])
	require.EqualValues(t, 3, first["files"])
	require.NotContains(t, second, "job_id")
}
