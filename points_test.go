package jifen_test

import (
	"strings"
	"testing"

	"jifen"
)

func TestRuleInputValidate(t *testing.T) {
	good := jifen.RuleInput{Code: "HJ-01", Name: " 门前三包 ", Category: jifen.CatEnvironment, Points: 2, DailyCap: 1}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if good.Name != "门前三包" || good.Unit != jifen.PerEvent {
		t.Fatalf("not normalised: %+v", good)
	}
	for _, c := range []struct {
		name  string
		in    jifen.RuleInput
		field string
	}{
		{"no code", jifen.RuleInput{Name: "x", Points: 1}, "code"},
		{"a code with a space", jifen.RuleInput{Code: "a b", Name: "x", Points: 1}, "code"},
		{"a code with markup", jifen.RuleInput{Code: "<b>", Name: "x", Points: 1}, "code"},
		{"no name", jifen.RuleInput{Code: "a", Points: 1}, "name"},
		{"zero points", jifen.RuleInput{Code: "a", Name: "x"}, "points"},
		{"too many points", jifen.RuleInput{Code: "a", Name: "x", Points: jifen.MaxRulePoints + 1}, "points"},
		{"too few points", jifen.RuleInput{Code: "a", Name: "x", Points: -jifen.MaxRulePoints - 1}, "points"},
		{"unknown category", jifen.RuleInput{Code: "a", Name: "x", Points: 1, Category: "vice"}, "category"},
		{"unknown unit", jifen.RuleInput{Code: "a", Name: "x", Points: 1, Unit: "per_year"}, "unit"},
		{"negative cap", jifen.RuleInput{Code: "a", Name: "x", Points: 1, MonthlyCap: -1}, "monthly_cap"},
		{"bad date", jifen.RuleInput{Code: "a", Name: "x", Points: 1, ValidFrom: "2026-13-01"}, "valid_from"},
		{"year 0", jifen.RuleInput{Code: "a", Name: "x", Points: 1, ValidTo: "0000-01-01"}, "valid_to"},
		{"ends before it starts", jifen.RuleInput{Code: "a", Name: "x", Points: 1, ValidFrom: "2026-02-01", ValidTo: "2026-01-01"}, "valid_to"},
	} {
		err := c.in.Validate()
		if err == nil || jifen.ErrorKind(err) != jifen.KindInvalid || err.(*jifen.Error).Field != c.field {
			t.Errorf("%s: got %v, want an invalid %s", c.name, err, c.field)
		}
	}
}

func TestRuleActiveOn(t *testing.T) {
	r := jifen.Rule{ValidFrom: "2026-01-01", ValidTo: "2026-12-31"}
	for day, want := range map[string]bool{"2025-12-31": false, "2026-01-01": true, "2026-12-31": true, "2027-01-01": false} {
		if r.ActiveOn(day) != want {
			t.Errorf("%s: %v", day, !want)
		}
	}
	r.Archived = true
	if r.ActiveOn("2026-06-01") {
		t.Error("an archived rule is in force")
	}
}

func TestParseRuleCategoryAndUnit(t *testing.T) {
	for in, want := range map[string]jifen.RuleCategory{"环境卫生": jifen.CatEnvironment, "filial_piety": jifen.CatFilialPiety, "红白事": jifen.CatCustomsReform, " 学习提升 ": jifen.CatLearning} {
		if got, ok := jifen.ParseRuleCategory(in); !ok || got != want {
			t.Errorf("%q → %q %v", in, got, ok)
		}
	}
	if _, ok := jifen.ParseRuleCategory("赌博类"); ok {
		t.Error("an unknown category parsed")
	}
	for in, want := range map[string]jifen.RuleUnit{"每小时": jifen.PerHour, "": jifen.PerEvent, "件": jifen.PerItem, "per_hour": jifen.PerHour} {
		if got, ok := jifen.ParseRuleUnit(in); !ok || got != want {
			t.Errorf("%q → %q %v", in, got, ok)
		}
	}
	for _, c := range jifen.RuleCategories {
		if c.Zh() == "" {
			t.Errorf("%s has no Chinese name", c)
		}
	}
}

func TestPointsSettingsValidate(t *testing.T) {
	s := jifen.DefaultPointsSettings(1)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*jifen.PointsSettings){
		"points to nobody":  func(s *jifen.PointsSettings) { s.PointsTo = "village" },
		"negative cap":      func(s *jifen.PointsSettings) { s.DailyCap = -1 },
		"huge budget":       func(s *jifen.PointsSettings) { s.YearlyBudget = 1 << 40 },
		"no public period":  func(s *jifen.PointsSettings) { s.PublicDays = 0 },
		"no appeal period":  func(s *jifen.PointsSettings) { s.AppealDays = 0 },
		"months without N":  func(s *jifen.PointsSettings) { s.Expiry = jifen.ExpiryMonths },
		"an unknown expiry": func(s *jifen.PointsSettings) { s.Expiry = "weekly" },
	} {
		s := jifen.DefaultPointsSettings(1)
		mut(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestAwardInputValidate(t *testing.T) {
	in := jifen.AwardInput{PersonID: 1, RuleID: 2}
	if err := in.Validate(); err != nil || in.Quantity != 1 {
		t.Fatalf("%v %d", err, in.Quantity)
	}
	for name, in := range map[string]jifen.AwardInput{
		"both":        {PersonID: 1, HouseholdID: 2, RuleID: 1},
		"neither":     {RuleID: 1},
		"no rule":     {PersonID: 1},
		"negative":    {PersonID: 1, RuleID: 1, Quantity: -1},
		"huge":        {PersonID: 1, RuleID: 1, Quantity: jifen.MaxQuantity + 1},
		"a long note": {PersonID: 1, RuleID: 1, Note: strings.Repeat("字", 201)},
	} {
		if err := in.Validate(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
