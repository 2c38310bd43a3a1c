package ui

// Builtin returns the dashboards Ward ships. Counters sent over statsd are
// stored as running totals, so the graphs show their rates.
//
// System shows Ward's own ingest and storage rates from ward_* series, which
// the daemon copies from its /metrics into storage (see the daemon's
// self-metrics recorder); without it those panels are empty.
func Builtin() []Dashboard {
	return []Dashboard{
		{
			ID: "business", Title: "Business", Builtin: true,
			Panels: []Panel{
				{Title: "Revenue per second", Expr: `sum(rate(revenue[5m]))`},
				{Title: "Registrations per second", Expr: `sum(rate(registrations[5m]))`},
				{Title: "Logins per second", Expr: `sum(rate(logins[5m]))`},
				{Title: "Revenue, this week against last week", Expr: `sum(rate(revenue[1h])) / sum(rate(revenue[1h] offset 1w))`},
			},
		},
		{
			ID: "system", Title: "System", Builtin: true,
			Panels: []Panel{
				{Title: "Load", Expr: `load`},
				{Title: "DB connections", Expr: `db_connections`},
				{Title: "Ward: lines accepted per second", Expr: `sum by (protocol) (rate(ward_ingest_lines_accepted_total[1m]))`},
				{Title: "Ward: lines rejected per second", Expr: `sum by (reason) (rate(ward_ingest_rejected_lines_total[1m]))`},
				{Title: "Ward: flushes per second", Expr: `rate(ward_ingest_flushes_total[1m])`},
			},
		},
	}
}
