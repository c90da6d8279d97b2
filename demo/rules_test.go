package demo

import (
	"testing"

	"jifen"
)

func TestDemoRulesAreValidAndUnique(t *testing.T) {
	if n := len(DemoRules); n < 45 || n > 60 {
		t.Errorf("%d demo rules, want about 50", n)
	}
	codes, names := map[string]bool{}, map[string]bool{}
	cats := map[jifen.RuleCategory]bool{}
	var awards, deductions int
	for _, r := range DemoRules {
		in := r // Validate normalises; the catalogue itself must already be normal
		if err := in.Validate(); err != nil {
			t.Errorf("%s (%s): %v", r.Code, r.Name, err)
			continue
		}
		if in != r {
			t.Errorf("%s: Validate changed it to %+v", r.Code, in)
		}
		if codes[r.Code] {
			t.Errorf("code %s twice", r.Code)
		}
		if names[r.Name] {
			t.Errorf("name %s twice", r.Name)
		}
		codes[r.Code], names[r.Name], cats[r.Category] = true, true, true
		if r.Code == jifen.ServiceHoursCode {
			t.Errorf("the built-in %s is in the catalogue", r.Code)
		}
		if r.Points > 0 {
			awards++
		} else {
			deductions++
		}
		if r.Points >= 20 && !r.NeedsReview || r.Points <= -10 && !r.NeedsReview {
			t.Errorf("%s: %d points without review", r.Code, r.Points)
		}
	}
	if awards < 25 || deductions < 12 {
		t.Errorf("%d awards and %d deductions", awards, deductions)
	}
	for _, c := range jifen.RuleCategories {
		if !cats[c] {
			t.Errorf("no rule of category %s", c)
		}
	}
}
