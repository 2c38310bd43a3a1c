package rules

import (
	"fmt"
	"strings"
)

// Error is a rule-file error with its position, so that `ward rules check`,
// reloads and the API can point at the offending line.
type Error struct {
	File   string
	Line   int
	Column int
	// Group and Rule name the group and rule the error is about, if known.
	Group string
	Rule  string
	Err   error
}

// Error formats as file:line:column: group "g", rule "r": message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	switch {
	case e.Group != "" && e.Rule != "":
		fmt.Fprintf(&b, "group %q, rule %q: ", e.Group, e.Rule)
	case e.Group != "":
		fmt.Fprintf(&b, "group %q: ", e.Group)
	case e.Rule != "":
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
