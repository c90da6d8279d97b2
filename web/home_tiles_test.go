package web_test

import (
	"strings"
	"testing"
)

// TestClerkHomeStartsWithTheCounter: the clerk's first tile is their
// counter, what they open the app for (it was the sixth, below the fold on
// a phone); a resident who sells nowhere has none.
func TestClerkHomeStartsWithTheCounter(t *testing.T) {
	e := newDemoCountyServer(t)
	const clerk = "13900000007" // 马小燕, clerk of 新窑村积分超市
	body := e.signedIn(t, clerk).get(t, "/").Body
	tiles := body[strings.Index(body, `<ul class="tiles">`):]
	first := tiles[strings.Index(tiles, "<li>"):]
	first = first[:strings.Index(first, "</li>")]
	if !strings.Contains(first, "counter-tile") {
		t.Errorf("the clerk's first tile is %q, want the counter", first)
	}
	if strings.Contains(e.signedIn(t, resident).get(t, "/").Body, "counter-tile") {
		t.Error("a resident who sells nowhere is offered a counter")
	}
}
