package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tracehound/tracehound/state"
)

// PutRuleDef implements state.RuleStore.
func (s *Store) PutRuleDef(ctx context.Context, def state.RuleDef) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO rule_defs (id, body, enabled, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body, enabled = excluded.enabled,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		def.ID, def.Body, def.Enabled, stamp(def.UpdatedAt), def.UpdatedBy)
	if err != nil {
		return fmt.Errorf("put rule %q: %w", def.ID, err)
	}
	return nil
}

func scanRuleDef(row pgx.Row) (state.RuleDef, error) {
	var d state.RuleDef
	err := row.Scan(&d.ID, &d.Body, &d.Enabled, (*scanStamp)(&d.UpdatedAt), &d.UpdatedBy)
	return d, err
}

// RuleDef implements state.RuleStore.
func (s *Store) RuleDef(ctx context.Context, id string) (state.RuleDef, error) {
	defs, err := queryAll(ctx, s.pool, "rule "+id, scanRuleDef, `SELECT id, body, enabled, updated_at, updated_by FROM rule_defs WHERE id = $1`, id)
	if err != nil {
		return state.RuleDef{}, err
	}
	if len(defs) == 0 {
		return state.RuleDef{}, fmt.Errorf("rule %q: %w", id, state.ErrNotFound)
	}
	return defs[0], nil
}

// RuleDefs implements state.RuleStore.
func (s *Store) RuleDefs(ctx context.Context) ([]state.RuleDef, error) {
	return queryAll(ctx, s.pool, "rules", scanRuleDef, `SELECT id, body, enabled, updated_at, updated_by FROM rule_defs ORDER BY id`)
}

// DeleteRuleDef implements state.RuleStore.
func (s *Store) DeleteRuleDef(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM rule_defs WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete rule %q: %w", id, err)
	}
	return affectedOne(tag, fmt.Sprintf("delete rule %q", id))
}

// SaveRuleState implements state.RuleStore. The upsert of the rule's row
// comes first: it locks the row, so two saves of one rule run one after
// the other and the later one's instances are what remains.
func (s *Store) SaveRuleState(ctx context.Context, st state.RuleState) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO rule_states (rule_id, last_eval) VALUES ($1, $2)
			ON CONFLICT (rule_id) DO UPDATE SET last_eval = excluded.last_eval`, st.RuleID, nullStamp(st.LastEval)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM rule_instances WHERE rule_id = $1`, st.RuleID); err != nil {
			return err
		}
		if len(st.Instances) == 0 {
			return nil
		}
		rows := make([][]any, len(st.Instances))
		for i, in := range st.Instances {
			data := in.Data
			if data == nil {
				data = []byte{}
			}
			row := []any{st.RuleID, in.Fingerprint, in.State}
			for _, t := range []nullStamp{nullStamp(in.ActiveAt), nullStamp(in.FiredAt), nullStamp(in.ResolvedAt), nullStamp(in.LastMatchAt)} {
				v, err := t.Int64Value()
				if err != nil {
					return fmt.Errorf("instance %s: %w", in.Fingerprint, err)
				}
				row = append(row, v)
			}
			rows[i] = append(row, data)
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"rule_instances"},
			[]string{"rule_id", "fingerprint", "state", "active_at", "fired_at", "resolved_at", "last_match_at", "data"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("save state of rule %q: %w", st.RuleID, err)
	}
	return nil
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

// ruleStates reads one rule's state, or every rule's when ruleID is
// empty, in one repeatable-read transaction so that the instances belong
// to the states read.
func (s *Store) ruleStates(ctx context.Context, ruleID string) ([]state.RuleState, error) {
	var w where
	if ruleID != "" {
		w.add("rule_id = ?", ruleID)
	}
	var sts []state.RuleState
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		sts, err = queryAll(ctx, tx, "states", func(row pgx.Row) (state.RuleState, error) {
			st := state.RuleState{Instances: []state.RuleInstance{}}
			err := row.Scan(&st.RuleID, (*scanStamp)(&st.LastEval))
			return st, err
		}, `SELECT rule_id, last_eval FROM rule_states`+w.clause()+` ORDER BY rule_id`, w.args...)
		if err != nil {
			return err
		}
		index := make(map[string]int, len(sts))
		for i, st := range sts {
			index[st.RuleID] = i
		}
		type instance struct {
			ruleID string
			state.RuleInstance
		}
		ins, err := queryAll(ctx, tx, "instances", func(row pgx.Row) (instance, error) {
			var in instance
			err := row.Scan(&in.ruleID, &in.Fingerprint, &in.State, (*scanStamp)(&in.ActiveAt), (*scanStamp)(&in.FiredAt),
				(*scanStamp)(&in.ResolvedAt), (*scanStamp)(&in.LastMatchAt), &in.Data)
			return in, err
		}, `SELECT rule_id, fingerprint, state, active_at, fired_at, resolved_at, last_match_at, data
			FROM rule_instances`+w.clause()+` ORDER BY rule_id, fingerprint`, w.args...)
		if err != nil {
			return err
		}
		for _, in := range ins {
			if i, ok := index[in.ruleID]; ok {
				sts[i].Instances = append(sts[i].Instances, in.RuleInstance)
			}
		}
		return nil
	})
	return sts, err
}

// DeleteRuleState implements state.RuleStore.
func (s *Store) DeleteRuleState(ctx context.Context, ruleID string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM rule_states WHERE rule_id = $1`, ruleID); err != nil {
		return fmt.Errorf("delete state of rule %q: %w", ruleID, err)
	}
	return nil
}
