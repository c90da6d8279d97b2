package demo

import (
	"context"
	"fmt"
	"time"

	"jifen"
)

// loadService writes the volunteer-service history of the demo county
// through the real services, travelling the clock back so that past
// activities are signed up for, checked into on site with the rotating
// code, and verified as they would have been.
func loadService(ctx context.Context, s Services, ids map[string]int64, people map[string]int64) error {
	if s.Activities == nil || s.Travel == nil {
		return nil
	}
	defer s.Travel(time.Time{})
	team, err := s.Orgs.Org(ctx, ids["新窑村志愿服务队"])
	if err != nil {
		return err
	}
	leader := jifen.WithActor(ctx, &jifen.Actor{PersonID: people["杨生鹤"], HomeOrgPath: team.Path,
		Grants: []jifen.Grant{{Role: jifen.RoleTeamLeader, OrgID: team.ID, OrgPath: team.Path}}})
	as := func(name string) context.Context {
		return jifen.WithActor(ctx, &jifen.Actor{PersonID: people[name]})
	}
	now := time.Now().In(jifen.Zone)
	day := func(d int, h, m int) time.Time {
		t := now.AddDate(0, 0, d)
		return time.Date(t.Year(), t.Month(), t.Day(), h, m, 0, 0, jifen.Zone)
	}
	s.Travel(day(-70, 8, 0))
	care, err := s.Activities.CreateProject(leader, jifen.ProjectInput{OrgID: team.ID, Name: "关爱同行", Description: "关爱空巢老人、留守儿童，每月上门走访，冬送温暖、夏送清凉。"})
	if err != nil {
		return fmt.Errorf("demo: project: %w", err)
	}
	green, err := s.Activities.CreateProject(leader, jifen.ProjectInput{OrgID: team.ID, Name: "绿水青山守护行", Description: "村道清扫、垃圾分类宣传、河道巡护。"})
	if err != nil {
		return fmt.Errorf("demo: project: %w", err)
	}
	lat, lon := 35.3062, 107.0358 // 新窑村 (roughly)
	volunteers := []string{"刘志强", "杨生鹤", "王秀兰", "李文华"}
	past := []struct {
		title, category, place string
		project                *int64
		day, from, to          int
		backfill               string
	}{
		{"重阳节敬老院慰问演出", "关爱老人", "崇信县敬老院", &care.ID, -60, 9, 12, ""},
		{"村道环境整治", "环境整治", "新窑村主干道", &green.ID, -40, 8, 11, "王秀兰"},
		{"文明交通劝导", "文明交通", "新窑镇十字路口", nil, -20, 7, 10, ""},
		{"冬季送温暖入户走访", "关爱老人", "新窑村各组", &care.ID, -6, 14, 17, ""},
	}
	for i, p := range past {
		start, end := day(p.day, p.from, 0), day(p.day, p.to, 0)
		s.Travel(start.AddDate(0, 0, -5))
		act, err := s.Activities.CreateActivity(leader, jifen.ActivityInput{OrgID: team.ID, ProjectID: p.project, Title: p.title, Category: p.category,
			Description: "请穿志愿者马甲，提前10分钟到场签到。", StartsAt: start, EndsAt: end, Capacity: 20, PointsPerHour: 10,
			Location: jifen.Location{Address: p.place, Lat: &lat, Lon: &lon}})
		if err != nil {
			return fmt.Errorf("demo: activity %s: %w", p.title, err)
		}
		if err := s.Activities.Publish(leader, act.ID); err != nil {
			return err
		}
		for _, v := range volunteers {
			if v == p.backfill {
				continue
			}
			if _, err := s.Activities.SignUp(as(v), act.ID, people[v]); err != nil {
				return fmt.Errorf("demo: sign-up %s: %w", v, err)
			}
		}
		// On site: everyone scans the screen's code, arriving a little apart.
		for j, v := range volunteers {
			if v == p.backfill {
				continue
			}
			s.Travel(start.Add(time.Duration(j*4-5) * time.Minute))
			code, _, err := s.Activities.CheckinCode(leader, act.ID)
			if err != nil {
				return err
			}
			if _, err := s.Activities.CheckIn(as(v), act.ID, code, &lat, &lon); err != nil {
				return fmt.Errorf("demo: check-in %s: %w", v, err)
			}
		}
		for j, v := range volunteers {
			if v == p.backfill || (i == 2 && j == 0) { // one forgets to check out
				continue
			}
			s.Travel(end.Add(time.Duration(j*3) * time.Minute))
			code, _, err := s.Activities.CheckinCode(leader, act.ID)
			if err != nil {
				return err
			}
			if _, err := s.Activities.CheckOut(as(v), act.ID, code, &lat, &lon); err != nil {
				return fmt.Errorf("demo: check-out %s: %w", v, err)
			}
		}
		s.Travel(end.Add(3 * time.Hour))
		if p.backfill != "" {
			if _, err := s.Activities.Backfill(leader, act.ID, people[p.backfill], start.Add(time.Hour), end, "手机没电，负责人现场确认"); err != nil {
				return fmt.Errorf("demo: backfill: %w", err)
			}
		}
		if _, err := s.Activities.Verify(leader, act.ID); err != nil {
			return fmt.Errorf("demo: verify %s: %w", p.title, err)
		}
	}
	// What a newcomer can take part in now: one running today, two ahead.
	s.Travel(time.Time{})
	upcoming := []jifen.ActivityInput{
		{Title: "社区义诊义剪", Category: "社区服务", StartsAt: now.Add(-time.Hour).Truncate(time.Hour), EndsAt: now.Add(3 * time.Hour).Truncate(time.Hour), Capacity: 15},
		{Title: "冬送温暖·困难家庭走访", Category: "关爱老人", ProjectID: &care.ID, StartsAt: day(1, 9, 0), EndsAt: day(1, 12, 0), Capacity: 10,
			Location: jifen.Location{Address: "新窑村村部集合", Lat: &lat, Lon: &lon, RadiusM: 500}},
		{Title: "无偿献血进乡村", Category: "无偿献血", StartsAt: day(7, 9, 0), EndsAt: day(7, 16, 0), Capacity: 40, MinAge: 18},
	}
	for i, in := range upcoming {
		in.OrgID, in.PointsPerHour = team.ID, 10
		if in.Location.Address == "" {
			in.Location.Address = "新窑村文化广场"
		}
		act, err := s.Activities.CreateActivity(leader, in)
		if err != nil {
			return fmt.Errorf("demo: activity %s: %w", in.Title, err)
		}
		if err := s.Activities.Publish(leader, act.ID); err != nil {
			return err
		}
		if i == 0 {
			if _, err := s.Activities.SignUp(as("刘志强"), act.ID, people["刘志强"]); err != nil {
				return err
			}
		}
	}
	return nil
}
