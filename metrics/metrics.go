// Package metrics defines filefleet's Prometheus metrics: HTTP requests, tasks, bytes read
// per backend, jobs by type and status (read from PostgreSQL when scraped) and asynq's queue
// metrics (its own exporter).
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	asynqmetrics "github.com/hibiken/asynq/x/metrics"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Process-wide metrics, registered in Registry.
var (
	Registry = prometheus.NewRegistry()

	HTTPRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "filefleet_http_requests_total", Help: "HTTP requests by route, method and status.",
	}, []string{"route", "method", "status"})
	HTTPDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "filefleet_http_request_duration_seconds", Help: "HTTP request durations by route and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "method"})
	Tasks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "filefleet_tasks_total", Help: "Tasks run by this process, by type and outcome (succeeded, failed).",
	}, []string{"type", "outcome"})
	TaskDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "filefleet_task_duration_seconds", Help: "Task durations by type.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"type"})
	BytesRead = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "filefleet_bytes_read_total", Help: "File content bytes read by tasks, by backend kind.",
	}, []string{"backend"})
)

func init() {
	Registry.MustRegister(HTTPRequests, HTTPDuration, Tasks, TaskDuration, BytesRead,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Handler serves the process's metrics; with db and inspector set it also reports jobs by
// type and status and asynq's queues (the API's /metrics).
func Handler(db *sqlx.DB, inspector *asynq.Inspector) http.Handler {
	own := prometheus.NewRegistry()
	if db != nil {
		own.MustRegister(&jobsCollector{db: db})
	}
	if inspector != nil {
		own.MustRegister(asynqmetrics.NewQueueMetricsCollector(inspector))
	}
	return promhttp.HandlerFor(prometheus.Gatherers{Registry, own}, promhttp.HandlerOpts{})
}

// jobsCollector counts jobs by type and status in PostgreSQL at scrape time.
type jobsCollector struct{ db *sqlx.DB }

var jobsDesc = prometheus.NewDesc("filefleet_jobs", "Jobs by type and status.", []string{"type", "status"}, nil)

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var rows []struct {
		Type   string  `db:"type"`
		Status string  `db:"status"`
		N      float64 `db:"n"`
	}
	if err := c.db.SelectContext(ctx, &rows, `SELECT type, status, count(*) AS n FROM jobs GROUP BY 1, 2`); err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, r.N, r.Type, r.Status)
	}
}
