package sqldb_test

import (
	"strings"
	"testing"
	"time"

	"jifen"
)

func TestAppeals(t *testing.T) {
	t.Parallel()
	eachPoints(t, func(t *testing.T, p *ptsFx) {
		help := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("help", 50))
		litter := p.rule(t, p.adminA.ctx, p.countyA, ruleIn("litter", -30))
		me := p.resident
		first := p.posted(t, p.adminA.ctx, me.p.ID, help)
		if first.AppealUntil == nil || !first.AppealUntil.Equal(jifen.DaysAfter(*first.PostedAt, 7)) {
			t.Fatalf("award %+v: the appeal window is the default 7 whole days after posting", first)
		}

		t.Run("someone else, even an admin of another county, finds no such transaction", func(t *testing.T) {
			before := p.rows(t)
			for _, out := range []user{p.residentB, p.adminB, p.leader} {
				_, err := p.pts.Appeal(out.ctx, *first.TxID, "不服")
				wantErr(t, err, jifen.KindNotFound, "not_found", "transaction_id")
			}
			p.unchanged(t, before)
		})
		t.Run("a transaction that is not an award cannot be appealed", func(t *testing.T) {
			spent := p.spend(t, me.p.ID, 1)
			_, err := p.pts.Appeal(me.ctx, spent.ID, "不服")
			wantErr(t, err, jifen.KindNotFound, "not_found", "transaction_id")
		})
		t.Run("an appeal needs a reason", func(t *testing.T) {
			_, err := p.pts.Appeal(me.ctx, *first.TxID, "  ")
			wantErr(t, err, jifen.KindInvalid, "invalid", "reason")
		})
		var ap *jifen.Appeal
		t.Run("the beneficiary appeals by transaction id within the window: open", func(t *testing.T) {
			ap = must(p.pts.Appeal(me.ctx, *first.TxID, "分值记错了"))(t)
			if ap.Status != jifen.AppealOpen || ap.AwardID != first.ID || ap.TxID != *first.TxID || ap.PersonID != me.p.ID || ap.Reason != "分值记错了" {
				t.Fatalf("appeal = %+v", ap)
			}
			list, total := must2(p.pts.Appeals(p.reviewer.ctx, p.countyA.ID, jifen.AppealOpen, 1))(t)
			if total != 1 || list[0].ID != ap.ID || list[0].Award == nil || list[0].Award.ID != first.ID {
				t.Fatalf("open appeals %+v", list)
			}
		})
		if ap == nil {
			t.Fatal("the steps below need the appeal")
		}
		t.Run("a second appeal while one is open is appeal_open", func(t *testing.T) {
			before := p.rows(t)
			_, err := p.pts.Appeal(me.ctx, *first.TxID, "再申诉")
			wantCode(t, err, jifen.KindConflict, "appeal_open")
			p.unchanged(t, before)
		})
		t.Run("whoever made the award cannot decide the appeal", func(t *testing.T) {
			_, err := p.pts.Uphold(p.adminA.ctx, ap.ID, "维持")
			wantCode(t, err, jifen.KindConflict, "self_approval")
			_, err = p.pts.Reverse(p.adminA.ctx, ap.ID, "撤销")
			wantCode(t, err, jifen.KindConflict, "self_approval")
		})
		t.Run("the appellant and outsiders cannot decide it at all", func(t *testing.T) {
			for _, by := range []user{me, p.adminB} {
				_, err := p.pts.Uphold(by.ctx, ap.ID, "维持")
				wantErr(t, err, jifen.KindNotFound, "not_found", "")
			}
		})
		t.Run("upholding keeps the award and the points", func(t *testing.T) {
			got := must(p.pts.Uphold(p.reviewer.ctx, ap.ID, "经核实，分值无误"))(t)
			if got.Status != jifen.AppealUpheld || got.Answer != "经核实，分值无误" || got.DecidedBy == nil || *got.DecidedBy != p.reviewer.p.ID {
				t.Fatalf("upheld %+v", got)
			}
			if aw := must(p.pts.GetAward(me.ctx, first.ID))(t); aw.Status != jifen.AwardPosted {
				t.Fatalf("award %+v", aw)
			}
			p.wantPoints(t, me.p.ID, 49, 50)
			if m := p.msgs(t, me.ctx, "申诉处理结果"); len(m) != 1 || !strings.Contains(m[0].Body, "维持原结果") {
				t.Fatalf("messages %+v", m)
			}
		})
		t.Run("deciding twice is already_decided", func(t *testing.T) {
			before := p.rows(t)
			_, err := p.pts.Uphold(p.reviewer.ctx, ap.ID, "再维持")
			wantCode(t, err, jifen.KindConflict, "already_decided")
			_, err = p.pts.Reverse(p.super.ctx, ap.ID, "改判")
			wantCode(t, err, jifen.KindConflict, "already_decided")
			p.unchanged(t, before)
		})
		t.Run("reversing posts a correction pointing at the award's transaction and marks the award reversed", func(t *testing.T) {
			second := p.posted(t, p.adminA.ctx, me.p.ID, help)
			ap := must(p.pts.Appeal(me.ctx, *second.TxID, "这笔记重了"))(t)
			got := must(p.pts.Reverse(p.reviewer.ctx, ap.ID, "确属重复，予以撤销"))(t)
			if got.Status != jifen.AppealReversed || got.Award == nil || got.Award.Status != jifen.AwardReversed {
				t.Fatalf("reversed %+v (award %+v)", got, got.Award)
			}
			top := p.ledgerOf(t, me.p.ID)[0]
			if top.Kind != jifen.TxCorrection || top.Amount != -50 || top.Score != -50 || top.Reverses == nil || *top.Reverses != *second.TxID || top.Shortfall != 0 {
				t.Fatalf("newest line %+v, want the reversal of transaction %d", top, *second.TxID)
			}
			if tx := p.tx(t, top.TxID); tx.Reverses == nil || *tx.Reverses != *second.TxID {
				t.Fatalf("reversal %+v", tx)
			}
			p.wantPoints(t, me.p.ID, 49, 50)
			_, err := p.pts.Appeal(me.ctx, *second.TxID, "再来")
			wantCode(t, err, jifen.KindConflict, "not_appealable")
		})
		t.Run("reversing an award already spent takes the balance to zero, records the shortfall and never goes below", func(t *testing.T) {
			who := p.member(t, "花光了", p.villageA)
			aw := p.posted(t, p.adminA.ctx, who.p.ID, help)
			p.spend(t, who.p.ID, 40)
			ap := must(p.pts.Appeal(who.ctx, *aw.TxID, "不服"))(t)
			must(p.pts.Reverse(p.reviewer.ctx, ap.ID, "撤销"))(t)
			s := p.wantPoints(t, who.p.ID, 0, 0)
			if s.Spent != 40 {
				t.Fatalf("summary %+v", s)
			}
			top := p.ledgerOf(t, who.p.ID)[0]
			if top.Reverses == nil || *top.Reverses != *aw.TxID || top.Amount != -10 || top.Shortfall != 40 || top.Balance != 0 {
				t.Fatalf("reversal line %+v, want -10 taken and 40 short", top)
			}
		})
		t.Run("reversing a deduction gives back what it took and the whole score", func(t *testing.T) {
			who := p.member(t, "被扣分", p.villageA)
			p.posted(t, p.adminA.ctx, who.p.ID, help)
			p.spend(t, who.p.ID, 30)
			fine := p.posted(t, p.adminA.ctx, who.p.ID, litter) // 20 there, 10 short
			if fine.Shortfall != 10 {
				t.Fatalf("deduction %+v", fine)
			}
			p.wantPoints(t, who.p.ID, 0, 20)
			ap := must(p.pts.Appeal(who.ctx, *fine.TxID, "不是我扔的"))(t)
			must(p.pts.Reverse(p.reviewer.ctx, ap.ID, "监控显示不是本人"))(t)
			p.wantPoints(t, who.p.ID, 20, 50)
		})
		t.Run("the reviewer cannot decide their own appeal; someone else can", func(t *testing.T) {
			aw := p.posted(t, p.adminA.ctx, p.reviewer.p.ID, litter)
			ap := must(p.pts.Appeal(p.reviewer.ctx, *aw.TxID, "我没有"))(t)
			_, err := p.pts.Reverse(p.reviewer.ctx, ap.ID, "撤销")
			wantCode(t, err, jifen.KindConflict, "self_approval")
			_, err = p.pts.Uphold(p.reviewer.ctx, ap.ID, "维持")
			wantCode(t, err, jifen.KindConflict, "self_approval")
			if got := must(p.pts.Reverse(p.super.ctx, ap.ID, "撤销"))(t); got.Status != jifen.AppealReversed {
				t.Fatalf("appeal %+v", got)
			}
		})
		t.Run("a reviewer who made the award cannot decide an appeal about it", func(t *testing.T) {
			aw := p.posted(t, p.reviewer.ctx, me.p.ID, litter)
			ap := must(p.pts.Appeal(me.ctx, *aw.TxID, "不服"))(t)
			_, err := p.pts.Reverse(p.reviewer.ctx, ap.ID, "撤销")
			wantCode(t, err, jifen.KindConflict, "self_approval")
		})
		t.Run("after the window the appeal is appeal_window_closed", func(t *testing.T) {
			aw := p.posted(t, p.adminA.ctx, me.p.ID, litter)
			p.clock.Set(aw.AppealUntil.Add(time.Second))
			before := p.rows(t)
			_, err := p.pts.Appeal(me.ctx, *aw.TxID, "晚了")
			wantCode(t, err, jifen.KindConflict, "appeal_window_closed")
			p.unchanged(t, before)
		})
		t.Run("a shorter window set by the org applies to awards posted after", func(t *testing.T) {
			p.set(t, p.countyA, func(s *jifen.PointsSettings) { s.AppealDays = 2 })
			aw := p.posted(t, p.adminA.ctx, me.p.ID, help)
			if !aw.AppealUntil.Equal(jifen.DaysAfter(*aw.PostedAt, 2)) {
				t.Fatalf("award %+v", aw)
			}
			p.clock.Set(jifen.DaysAfter(*aw.PostedAt, 2).Add(-time.Minute))
			must(p.pts.Appeal(me.ctx, *aw.TxID, "还在期限内"))(t)
		})
		t.Run("a resident lists their own appeals", func(t *testing.T) {
			list, total := must2(p.pts.Appeals(me.ctx, 0, "", 1))(t)
			if total != 4 || len(list) != 4 {
				t.Fatalf("%d appeals (total %d)", len(list), total)
			}
			for _, a := range list {
				if a.PersonID != me.p.ID {
					t.Fatalf("someone else's appeal %+v", a)
				}
			}
		})
		p.verify(t)
	})
}
