// Package notify delivers alerts produced by Ward's rules to the outside
// world: webhooks that receive Alertmanager's webhook payload (version 4) and
// real Alertmanagers through their /api/v2/alerts endpoint.
//
// Every receiver has a bounded queue and its own worker goroutine, so a slow
// or dead receiver never delays rule evaluation: Notify only files alerts and
// enqueues, dropping (and counting) when a queue is full. Webhook receivers
// group alerts (by alertname unless configured otherwise) and deduplicate
// notifications the way Alertmanager's notification log does: a group is
// notified when a new alert fires, when alerts resolve, and again every
// repeat interval while something still fires. That log is persisted in the
// Store so a restart does not notify a second time. Alertmanager receivers
// forward every alert they are given and leave grouping, silencing and
// deduplication to Alertmanager.
package notify
