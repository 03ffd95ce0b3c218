package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tracehound/tracehound/state"
)

var _ state.RuleStore = (*Store)(nil)

// PutRuleDef implements state.RuleStore.
func (s *Store) PutRuleDef(ctx context.Context, def state.RuleDef) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO rule_defs (id, body, enabled, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, enabled = excluded.enabled,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		def.ID, def.Body, def.Enabled, formatTime(def.UpdatedAt), def.UpdatedBy)
	if err != nil {
		return fmt.Errorf("put rule %q: %w", def.ID, err)
	}
	return nil
}

// RuleDef implements state.RuleStore.
func (s *Store) RuleDef(ctx context.Context, id string) (state.RuleDef, error) {
	defs, err := s.ruleDefs(ctx, `WHERE id = ?`, id)
	if err != nil {
		return state.RuleDef{}, fmt.Errorf("rule %q: %w", id, err)
	}
	if len(defs) == 0 {
		return state.RuleDef{}, fmt.Errorf("rule %q: %w", id, state.ErrNotFound)
	}
	return defs[0], nil
}

// RuleDefs implements state.RuleStore.
func (s *Store) RuleDefs(ctx context.Context) ([]state.RuleDef, error) {
	defs, err := s.ruleDefs(ctx, `ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return defs, nil
}

func (s *Store) ruleDefs(ctx context.Context, where string, args ...any) ([]state.RuleDef, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, body, enabled, updated_at, updated_by FROM rule_defs `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	defs := []state.RuleDef{}
	for rows.Next() {
		var d state.RuleDef
		var at string
		if err := rows.Scan(&d.ID, &d.Body, &d.Enabled, &at, &d.UpdatedBy); err != nil {
			return nil, err
		}
		if d.UpdatedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		defs = append(defs, d)
	}
	return defs, rows.Err()
}

// DeleteRuleDef implements state.RuleStore.
func (s *Store) DeleteRuleDef(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM rule_defs WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete rule %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete rule %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("delete rule %q: %w", id, state.ErrNotFound)
	}
	return nil
}

// SaveRuleState implements state.RuleStore.
func (s *Store) SaveRuleState(ctx context.Context, st state.RuleState) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save state of rule %q: %w", st.RuleID, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = fmt.Errorf("save state of rule %q: %w", st.RuleID, err)
		}
	}()
	if _, err := tx.ExecContext(ctx, `INSERT INTO rule_states (rule_id, last_eval) VALUES (?, ?)
		ON CONFLICT (rule_id) DO UPDATE SET last_eval = excluded.last_eval`, st.RuleID, nullTime(st.LastEval)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM rule_instances WHERE rule_id = ?`, st.RuleID); err != nil {
		return err
	}
	insert, err := tx.PrepareContext(ctx, `INSERT INTO rule_instances
		(rule_id, fingerprint, state, active_at, fired_at, resolved_at, last_match_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insert.Close()
	for _, in := range st.Instances {
		data := in.Data
		if data == nil {
			data = []byte{}
		}
		if _, err := insert.ExecContext(ctx, st.RuleID, in.Fingerprint, in.State, nullTime(in.ActiveAt), nullTime(in.FiredAt),
			nullTime(in.ResolvedAt), nullTime(in.LastMatchAt), data); err != nil {
			return fmt.Errorf("instance %s: %w", in.Fingerprint, err)
		}
	}
	return tx.Commit()
}

// RuleState implements state.RuleStore.
func (s *Store) RuleState(ctx context.Context, ruleID string) (state.RuleState, error) {
	sts, err := s.ruleStates(ctx, ruleID)
	if err != nil {
		return state.RuleState{}, fmt.Errorf("state of rule %q: %w", ruleID, err)
	}
	if len(sts) == 0 {
		return state.RuleState{}, fmt.Errorf("state of rule %q: %w", ruleID, state.ErrNotFound)
	}
	return sts[0], nil
}

// RuleStates implements state.RuleStore.
func (s *Store) RuleStates(ctx context.Context) ([]state.RuleState, error) {
	sts, err := s.ruleStates(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("rule states: %w", err)
	}
	return sts, nil
}

// ruleStates reads one rule's state, or every rule's when ruleID is empty.
func (s *Store) ruleStates(ctx context.Context, ruleID string) ([]state.RuleState, error) {
	where, args := "", []any{}
	if ruleID != "" {
		where, args = "WHERE rule_id = ?", []any{ruleID}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT rule_id, last_eval FROM rule_states `+where+` ORDER BY rule_id`, args...)
	if err != nil {
		return nil, err
	}
	sts := []state.RuleState{}
	index := map[string]int{}
	for rows.Next() {
		var st state.RuleState
		var last sql.NullString
		if err := rows.Scan(&st.RuleID, &last); err != nil {
			rows.Close()
			return nil, err
		}
		if st.LastEval, err = parseNullTime(last); err != nil {
			rows.Close()
			return nil, err
		}
		st.Instances = []state.RuleInstance{}
		index[st.RuleID] = len(sts)
		sts = append(sts, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT rule_id, fingerprint, state, active_at, fired_at, resolved_at, last_match_at, data
		FROM rule_instances `+where+` ORDER BY rule_id, fingerprint`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var in state.RuleInstance
		var active, fired, resolved, match sql.NullString
		if err := rows.Scan(&id, &in.Fingerprint, &in.State, &active, &fired, &resolved, &match, &in.Data); err != nil {
			return nil, err
		}
		if in.ActiveAt, err = parseNullTime(active); err != nil {
			return nil, err
		}
		if in.FiredAt, err = parseNullTime(fired); err != nil {
			return nil, err
		}
		if in.ResolvedAt, err = parseNullTime(resolved); err != nil {
			return nil, err
		}
		if in.LastMatchAt, err = parseNullTime(match); err != nil {
			return nil, err
		}
		i, ok := index[id]
		if !ok {
			continue
		}
		sts[i].Instances = append(sts[i].Instances, in)
	}
	return sts, rows.Err()
}

// DeleteRuleState implements state.RuleStore.
func (s *Store) DeleteRuleState(ctx context.Context, ruleID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM rule_states WHERE rule_id = ?`, ruleID); err != nil {
		return fmt.Errorf("delete state of rule %q: %w", ruleID, err)
	}
	return nil
}
