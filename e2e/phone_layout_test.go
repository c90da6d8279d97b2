package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"jifen/demo"
)

// TestPhoneLayout: forms and links fit a 360 px phone. The item form's
// 兑换期 dates stay inside the screen, a checkbox or radio keeps its size
// beside a long label, and the board's lobby-screen link, meant for a TV,
// is not offered on a phone.
func TestPhoneLayout(t *testing.T) {
	browser := startBrowser(t)
	sa := startStoreApp(t, "sqlite:"+t.TempDir()+"/jifen.db")

	t.Run("item dates fit the phone", func(t *testing.T) {
		tb := newTab(t, browser, sa.app)
		tb.signIn(adminPhone, demo.Password)
		rice := sa.item(t, "大米（5kg）")
		for _, p := range []string{fmt.Sprintf("/items/%d", rice.ID), fmt.Sprintf("/stores/%d/edit", sa.store.ID)} {
			tb.open(p)
			// Open the form the field is in and bring it into view, as a person scrolling down would.
			evalJS[bool](tb, `(() => { const el = document.querySelector("input[name=valid_to]"); const d = el.closest("details"); if (d) d.open = true; el.scrollIntoView({block: "center"}); return true })()`)
			w := evalJS[int](tb, `document.documentElement.scrollWidth`)
			right := evalJS[float64](tb, `document.querySelector("input[name=valid_to]").getBoundingClientRect().right + window.scrollX`)
			if w > phoneWidth+1 || right > phoneWidth {
				t.Errorf("%s: with the item form open the page is %d px wide on a %d px phone; 截止日期 ends at %.0f px", p, w, phoneWidth, right)
			}
			tb.noHorizontalScroll(p + " with the item form open")
		}
	})

	// The size a checkbox or radio is given in app.css, and how much of it
	// must survive beside a long label.
	const minBox = 20.0
	t.Run("consent checkbox keeps its size and its sentence", func(t *testing.T) {
		tb := newTab(t, browser, sa.app)
		tb.open("/lang/en?next=/signup")
		box := evalJS[float64](tb, `document.querySelector("#consent").getBoundingClientRect().width`)
		if box < minBox {
			t.Errorf("English /signup: the consent checkbox is squashed to %.0f px", box)
		}
		// In two columns the sentence wraps on the left and its link stands
		// to the right of it; in one flow the link follows the words.
		split := evalJS[bool](tb, `(() => {
			const label = document.querySelector("#consent").closest("label");
			const link = label.querySelector("a");
			const text = [...label.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());
			const r = document.createRange(); r.selectNodeContents(text);
			const lines = r.getClientRects().length, box = r.getBoundingClientRect();
			return lines > 1 && link.getBoundingClientRect().left >= box.right - 1;
		})()`)
		if split {
			t.Errorf("English /signup: the consent sentence is split into two columns, its link beside the wrapped words")
		}
		tb.noHorizontalScroll("English /signup")
	})

	t.Run("claim rule choices keep their radios", func(t *testing.T) {
		tb := newTab(t, browser, sa.app)
		tb.signIn(residentPhone, demo.Password)
		tb.open("/me/claim")
		min := evalJS[float64](tb, `Math.min(...[...document.querySelectorAll("label.rule-choice input[type=radio]")].map(e => e.getBoundingClientRect().width))`)
		if min < minBox {
			t.Errorf("/me/claim: a rule's radio is squashed to %.0f px", min)
		}
		tb.noHorizontalScroll("/me/claim")
	})

	// Forty rules in one column: a resident finds one by its category
	// (links at the top, no script needed) or by typing a word of it.
	t.Run("a claim's rule is found by typing a word of it", func(t *testing.T) {
		tb := newTab(t, browser, sa.app)
		tb.signIn(residentPhone, demo.Password)
		tb.open("/me/claim")
		const shownJS = `[...document.querySelectorAll("label.rule-choice")].filter(l => l.getClientRects().length).map(l => l.textContent.trim())`
		all := len(evalJS[[]string](tb, shownJS))
		tb.do("type 清扫", chromedp.SendKeys("#rule-filter", "清扫"))
		shown := evalJS[[]string](tb, shownJS)
		if len(shown) == 0 || len(shown) >= all {
			t.Errorf("/me/claim: typing 清扫 leaves %d of %d rules in sight", len(shown), all)
		}
		for _, s := range shown {
			if !strings.Contains(s, "清扫") {
				t.Errorf("/me/claim: typing 清扫 leaves %q in sight", s)
			}
		}
		if tb.has("#rule-filter-none:not([hidden])") {
			t.Errorf("/me/claim: typing 清扫 says no rule matches")
		}
		tb.noHorizontalScroll("/me/claim filtered")
	})

	t.Run("a claim without its photo is told where the photo goes", func(t *testing.T) {
		tb := newTab(t, browser, sa.app)
		tb.signIn(residentPhone, demo.Password)
		tb.open("/me/claim")
		// A rule that needs a photo, sent without one.
		evalJS[bool](tb, `(() => { const r = [...document.querySelectorAll("label.rule-choice")].find(l => l.textContent.includes("护林防火巡逻")); r.querySelector("input").checked = true; return true })()`)
		tb.submit(`#claim-submit`)
		if !tb.has("#form-error") {
			t.Fatalf("/me/claim without a photo: no error on the page")
		}
		top := evalJS[float64](tb, `(() => { const n = document.getElementById("form-error-near"); return n ? n.getBoundingClientRect().top : -1 })()`)
		if top < 0 || top > phoneHeight {
			t.Errorf("/me/claim without a photo: the error is not said again beside the photo field in sight (top %.0f px)", top)
		}
		if name := evalJS[string](tb, `document.activeElement ? document.activeElement.name || "" : ""`); name != "evidence" {
			t.Errorf("/me/claim without a photo: the focus is on %q, want the photo field", name)
		}
	})

	// The menu once listed every link a person has, 17 for an admin: on a
	// phone it filled the first screen and pushed the page below it.
	t.Run("the menu leaves the first screen to the page", func(t *testing.T) {
		const superAdminPhone = "13900000000" // the most links of anyone
		// What counts as leaving the screen to the page: the heading starts
		// in its top 40 %.
		const headingBelow = phoneHeight * 4 / 10
		for _, who := range []string{superAdminPhone, adminPhone, residentPhone} {
			for _, lang := range []string{"zh", "en"} {
				tb := newTab(t, browser, sa.app)
				tb.signIn(who, demo.Password)
				tb.open("/lang/" + lang + "?next=/")
				what := fmt.Sprintf("%s's home in %s", who, lang)
				shown := evalJS[[]string](tb, `[...document.querySelectorAll("nav.menu a, nav.menu summary, nav.menu button")].filter(e => e.getClientRects().length).map(e => e.textContent.trim())`)
				if len(shown) > 7 {
					t.Errorf("%s on a %d px phone: the menu shows %d items %q, want the six most used and 更多", what, phoneWidth, len(shown), shown)
				}
				if top := evalJS[float64](tb, `document.querySelector("main h1").getBoundingClientRect().top`); top > headingBelow {
					t.Errorf("%s on a %d×%d phone: the page's heading starts %.0f px down, below the menu; want at most %d", what, phoneWidth, phoneHeight, top, headingBelow)
				}
				if low := evalJS[[]string](tb, `[...document.querySelectorAll("nav.menu a, nav.menu summary")].filter(e => e.getClientRects().length && e.getBoundingClientRect().height < 44).map(e => e.textContent.trim())`); len(low) > 0 {
					t.Errorf("%s: menu items shorter than a finger (44 px): %q", what, low)
				}
				// 更多 opens the rest, without script's help (details is the browser's own).
				tb.openMenu()
				if hidden := evalJS[[]string](tb, `[...document.querySelectorAll("nav.menu a, nav.menu button")].filter(e => !e.getClientRects().length).map(e => e.getAttribute("href") || e.textContent.trim())`); len(hidden) > 0 {
					t.Errorf("%s: after 更多 the menu still hides %q", what, hidden)
				}
				tb.noHorizontalScroll(what + " with 更多 open")
				if who == superAdminPhone && lang == "zh" {
					tb.extraScreenshot("menu-open.png")
				}
				// A wide screen shows every link, and no 更多.
				tb.resize(1280, 800)
				if hidden := evalJS[[]string](tb, `[...document.querySelectorAll("nav.menu a, nav.menu button")].filter(e => !e.getClientRects().length).map(e => e.getAttribute("href") || e.textContent.trim())`); len(hidden) > 0 {
					t.Errorf("%s on a 1280 px screen: the menu hides %q", what, hidden)
				}
				if tb.has("nav.menu summary") && evalJS[bool](tb, `document.querySelector("nav.menu summary").getClientRects().length > 0`) {
					t.Errorf("%s on a 1280 px screen offers 更多", what)
				}
			}
		}
	})

	t.Run("no lobby-screen link on a phone", func(t *testing.T) {
		tb := newTab(t, browser, sa.app)
		tb.signIn(residentPhone, demo.Password)
		tb.open(fmt.Sprintf("/board/%d", sa.store.OrgID))
		if !tb.has(`a[href*="tv=1"]`) {
			t.Fatalf("the board has no lobby-screen link at all: is the selector right?")
		}
		if shown := evalJS[bool](tb, `document.querySelector('a[href*="tv=1"]').getClientRects().length > 0`); shown {
			t.Errorf("/board on a %d px phone offers the lobby-screen link", phoneWidth)
		}
		tb.resize(1280, 800)
		if shown := evalJS[bool](tb, `document.querySelector('a[href*="tv=1"]').getClientRects().length > 0`); !shown {
			t.Errorf("/board on a 1280 px screen hides the lobby-screen link")
		}
	})
}
