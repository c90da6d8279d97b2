package demo

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"time"

	"jifen"
)

// loadPoints writes the points side of the demo county: the village rule
// catalogue at the county (so every village inherits it), 新窑村's
// settings (Yeji's 100-point daily cap), a few households, two months of
// awards and deductions entered by the village admin as they happened, a
// resident's claim with a photo waiting for the reviewer and an appeal
// against a deduction.
func loadPoints(ctx context.Context, s Services, ids map[string]int64, people map[string]int64) error {
	if s.Points == nil || s.Travel == nil {
		return nil
	}
	defer s.Travel(time.Time{})
	county, village := ids["崇信县"], ids["新窑村"]
	if _, err := s.Points.ImportRules(ctx, county, DemoRules); err != nil {
		return fmt.Errorf("demo: rules: %w", err)
	}
	if err := s.Points.SaveSettings(ctx, village, jifen.PointsSettings{PointsTo: jifen.ToPerson, DailyCap: 100, MaskNames: true,
		PublicDays: 7, AppealDays: 7, Expiry: jifen.ExpiryNever}); err != nil {
		return fmt.Errorf("demo: settings: %w", err)
	}
	// The community credits households, as many village rules score 户.
	if err := s.Points.SaveSettings(ctx, ids["城关社区"], jifen.PointsSettings{PointsTo: jifen.ToHousehold, MaskNames: false,
		PublicDays: 7, AppealDays: 7, Expiry: jifen.ExpiryNever}); err != nil {
		return fmt.Errorf("demo: settings: %w", err)
	}
	// 陈桂兰 heads a household with 陈秀兰, who has no phone: 陈桂兰 can
	// claim for her (代办).
	if _, err := s.Points.CreateHousehold(ctx, jifen.HouseholdInput{OrgID: village, HeadID: people["陈桂兰"], MemberIDs: []int64{people["陈秀兰"]}}); err != nil {
		return fmt.Errorf("demo: household: %w", err)
	}
	if _, err := s.Points.CreateHousehold(ctx, jifen.HouseholdInput{OrgID: village, HeadID: people["周春花"], MemberIDs: []int64{people["郭德胜"]}}); err != nil {
		return fmt.Errorf("demo: household: %w", err)
	}
	rules, err := s.Points.Rules(ctx, village)
	if err != nil {
		return err
	}
	rule := map[string]int64{}
	for _, r := range rules {
		rule[r.Code] = r.ID
	}
	vpath, err := s.Orgs.Org(ctx, village)
	if err != nil {
		return err
	}
	admin := jifen.WithActor(ctx, &jifen.Actor{PersonID: people["王润莲"], HomeOrgID: village, HomeOrgPath: vpath.Path,
		Grants: []jifen.Grant{{Role: jifen.RoleOrgAdmin, OrgID: village, OrgPath: vpath.Path}}})
	as := func(name string) context.Context {
		return jifen.WithActor(ctx, &jifen.Actor{PersonID: people[name], HomeOrgID: village, HomeOrgPath: vpath.Path})
	}
	now := time.Now().In(jifen.Zone)
	at := func(daysAgo, hour int) time.Time {
		t := now.AddDate(0, 0, -daysAgo)
		return time.Date(t.Year(), t.Month(), t.Day(), hour, 0, 0, 0, jifen.Zone)
	}
	history := []struct {
		ago    int
		person string
		code   string
		qty    int64
		note   string
	}{
		{58, "陈桂兰", "env.frontage", 1, "门前三包检查达标"},
		{58, "周春花", "env.frontage", 1, "门前三包检查达标"},
		{57, "李文华", "learn.night_school", 1, "农民夜校：苹果修剪技术"},
		{50, "陈桂兰", "filial.lonely_elderly", 1, "常年照顾邻居孤寡老人马大爷"},
		{45, "赵丽娟", "civ.lost_found", 1, "在村委会门口拾到钱包交还失主"},
		{44, "朱永红", "env.clutter", 1, "柴草堆放占用村道，经劝导已清理"},
		{40, "刘志强", "civ.mediation", 1, "调解三组宅基地纠纷"},
		{33, "陈桂兰", "env.yard", 1, "11月庭院整洁检查"},
		{33, "周春花", "env.yard", 1, "11月庭院整洁检查"},
		{30, "李文华", "customs.pledge", 1, "签订移风易俗承诺书"},
		{26, "赵丽娟", "learn.lecture", 1, "道德讲堂"},
		{21, "陈桂兰", "other.village_meeting", 1, "参加村民代表大会"},
		{21, "周春花", "other.village_meeting", 1, "参加村民代表大会"},
		{21, "刘志强", "other.village_meeting", 1, "参加村民代表大会"},
		{14, "李文华", "env.tree", 5, "义务植树5棵"},
		{9, "刘志强", "law.anti_fraud", 1, "反诈宣传进村入户"},
		{5, "赵丽娟", "env.sorting", 1, ""},
		{3, "周春花", "env.dumping", 1, "将建筑垃圾倒在河道边"},
		{2, "陈桂兰", "filial.elders", 1, "悉心照料瘫痪在床的婆婆十余年"},
		{1, "李文华", "env.sorting", 1, ""},
	}
	// What the village's paper ledger (台账) held when it moved to jifen.
	s.Travel(at(60, 9))
	var opening []jifen.OpeningInput
	for name, pts := range map[string]int64{"陈桂兰": 120, "李文华": 80, "周春花": 60, "刘志强": 50, "赵丽娟": 40} {
		opening = append(opening, jifen.OpeningInput{PersonID: people[name], Points: pts, Note: "2025年纸质台账结转"})
	}
	if _, err := s.Points.ImportOpening(ctx, village, opening); err != nil {
		return fmt.Errorf("demo: opening balances: %w", err)
	}
	var appealTx int64
	for i, h := range history {
		s.Travel(at(h.ago, 10))
		aw, err := s.Points.Award(admin, jifen.AwardInput{PersonID: people[h.person], RuleID: rule[h.code], Quantity: h.qty, Note: h.note,
			Key: fmt.Sprintf("demo-%d", i)})
		if err != nil {
			return fmt.Errorf("demo: award %s %s: %w", h.person, h.code, err)
		}
		if h.code == "env.dumping" && aw.TxID != nil {
			appealTx = *aw.TxID
		}
	}
	// 周春花 appeals the deduction: the reviewer decides.
	s.Travel(at(2, 9))
	if _, err := s.Points.Appeal(as("周春花"), appealTx, "倒在河道边的建筑垃圾不是我家的，是过路车辆倾倒的，有邻居可以作证。"); err != nil {
		return fmt.Errorf("demo: appeal: %w", err)
	}
	// A claim with a photo, waiting for the reviewer.
	s.Travel(at(0, 8))
	if _, err := s.Points.Award(as("陈桂兰"), jifen.AwardInput{PersonID: people["陈桂兰"], RuleID: rule["env.frontage"], Note: "今天早上打扫了门前和巷道",
		Evidence: samplePhoto(), Key: "demo-claim-1"}); err != nil {
		return fmt.Errorf("demo: claim: %w", err)
	}
	return nil
}

// samplePhoto is a small made-up picture standing in for a phone photo.
func samplePhoto() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			c := color.RGBA{R: 120, G: uint8(150 + y/4), B: 90, A: 255}
			if y > 160 {
				c = color.RGBA{R: 170, G: 160, B: 140, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}
