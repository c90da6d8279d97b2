package web_test

import (
	"net/http"
	"strings"
	"testing"

	"jifen/web"
)

// An Excel export of more records than one sheet holds is refused with a
// clear error before anything is sent; before, the download was an empty
// file. (The limit is lowered here: a test cannot make a million records.)
func TestXLSXExportOverTheSheetLimitIsRefused(t *testing.T) {
	e := newDemoCountyServer(t)
	admin := e.signedIn(t, superAdmin)
	restore := web.LimitXLSXRecords(2)
	defer restore()
	r := admin.get(t, "/records/export?format=xlsx")
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "超过一张Excel表最多的2条；请缩小日期范围，或导出为CSV") {
		t.Fatalf("an overfull sheet: %d %.300s", r.Status, answerText(r.Body))
	}
	if r := admin.get(t, "/records/export?format=csv"); r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "csv") {
		t.Fatalf("the CSV export: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
}
