package db

import (
	"context"
	"regexp"
	"strings"
)

// TextMatch is a listing's filter on one text field (a team's name, a member's email): a value, or a
// regular expression in Go's RE2 syntax, which runs in time linear in its input whatever the pattern.
// A field matches when it equals the value or the whole field matches the expression, both ignoring
// case: "alice@example.com" finds that member and no other, ".*@example\.com" everyone at that
// domain. The zero (nil) TextMatch matches everything.
type TextMatch struct {
	value string
	re    *regexp.Regexp
}

// maxPatternLen bounds a filter's pattern: RE2 compiles in time and memory linear in it.
const maxPatternLen = 1024

// ParseTextMatch reads the filter named param (for the error) from value; an empty value is nil (no
// filter). It returns CodeInvalid for a pattern that does not compile or is too long.
func ParseTextMatch(param, value string) (*TextMatch, error) {
	if value == "" {
		return nil, nil
	}
	if len(value) > maxPatternLen {
		return nil, Errorf(CodeInvalid, "%s is too long: at most %d bytes.", param, maxPatternLen)
	}
	re, err := regexp.Compile(`(?i)^(?:` + value + `)$`)
	if err != nil {
		// The compiler's message names the problem and quotes the pattern, which the caller sent.
		return nil, Errorf(CodeInvalid, "%s is neither a plain value nor a valid regular expression (RE2 syntax): %v.", param, err)
	}
	return &TextMatch{value: value, re: re}, nil
}

// Matches reports whether s passes the filter.
func (m *TextMatch) Matches(s string) bool {
	return m == nil || strings.EqualFold(s, m.value) || m.re.MatchString(s)
}

// TeamFilter selects teams. Nil fields match everything.
type TeamFilter struct {
	Name        *TextMatch
	Description *TextMatch
}

// FindTeams lists the organization's teams whose name and description pass f, by name, with their
// members and member teams. Every member may read them.
func (s *Store) FindTeams(ctx context.Context, a Actor, f TeamFilter) ([]Team, error) {
	teams, err := s.ListTeams(ctx, a)
	if err != nil {
		return nil, err
	}
	out := teams[:0]
	for _, t := range teams {
		if f.Name.Matches(t.Name) && f.Description.Matches(t.Description) {
			out = append(out, t)
		}
	}
	return out, nil
}

// FindMembers lists the organization's members whose email passes email, by email.
func (s *Store) FindMembers(ctx context.Context, a Actor, email *TextMatch) ([]Member, error) {
	ms, err := s.ListMembers(ctx, a, "")
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if email.Matches(m.Email) {
			out = append(out, m)
		}
	}
	return out, nil
}
