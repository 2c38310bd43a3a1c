// Package spec is what Ward's experiment server and its clients share: experiment
// definitions and their validation, the assignment hash (specified byte for byte in
// experiment/README.md) and the JSON bodies of the routes clients call. It imports only
// the standard library, so that apps importing experiment/client stay light, and the
// server and the client assign through the same code.
package spec
