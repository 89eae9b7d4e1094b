package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
)

// RuleSet is a named, stored list of organize rules (organize.Rule as JSON).
type RuleSet struct {
	Name        string          `json:"name" db:"name"`
	Description string          `json:"description" db:"description"`
	Rules       json.RawMessage `json:"rules" db:"rules"`
	CreatedAt   time.Time       `json:"created_at" db:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at" db:"updated_at"`
}

// PutRuleSet creates rule set s, or replaces the one of its name when replace is set;
// ECONFLICT if it exists and replace is not set, ENOTFOUND if it does not and replace is.
func PutRuleSet(ctx context.Context, q sqlx.QueryerContext, s *RuleSet, replace bool) error {
	query := `INSERT INTO organize_rule_sets (name, description, rules) VALUES ($1, $2, $3) RETURNING *`
	if replace {
		query = `UPDATE organize_rule_sets SET description = $2, rules = $3, updated_at = now() WHERE name = $1 RETURNING *`
	}
	err := sqlx.GetContext(ctx, q, s, query, s.Name, s.Description, string(s.Rules))
	switch filefleet.ErrorCode(translate(err, "")) {
	case filefleet.ECONFLICT:
		return filefleet.Errorf(filefleet.ECONFLICT, "a rule set named %q exists already; PUT replaces it", s.Name)
	case filefleet.ENOTFOUND:
		return filefleet.Errorf(filefleet.ENOTFOUND, "rule set %q not found", s.Name)
	}
	return translate(err, "put rule set")
}

// GetRuleSet returns rule set name; ENOTFOUND if there is none.
func GetRuleSet(ctx context.Context, q sqlx.QueryerContext, name string) (*RuleSet, error) {
	var s RuleSet
	err := sqlx.GetContext(ctx, q, &s, `SELECT * FROM organize_rule_sets WHERE name = $1`, name)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "rule set %q not found", name)
	}
	return &s, translate(err, "get rule set")
}

// ListRuleSets returns every rule set by name.
func ListRuleSets(ctx context.Context, q sqlx.QueryerContext) ([]RuleSet, error) {
	out := []RuleSet{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT * FROM organize_rule_sets ORDER BY name`)
	return out, translate(err, "list rule sets")
}

// DeleteRuleSet removes rule set name; ENOTFOUND if there is none.
func DeleteRuleSet(ctx context.Context, q sqlx.ExecerContext, name string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM organize_rule_sets WHERE name = $1`, name)
	if err != nil {
		return translate(err, "delete rule set")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return filefleet.Errorf(filefleet.ENOTFOUND, "rule set %q not found", name)
	}
	return nil
}
