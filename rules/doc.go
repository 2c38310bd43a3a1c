// Package rules loads Prometheus rule files with Ward's extensions (warn and
// crit levels with hysteresis, active time windows, no-data behaviour, flap
// detection), evaluates their groups against Ward's storage through a
// QueryFunc, keeps a persisted state per alert instance, writes recording
// rules and ALERTS series through an Appender, and hands alerts to a
// Notifier (see rules/notify). README.md documents the rule-file format.
package rules
