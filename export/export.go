// Package export writes service records (志愿服务记录) as an org's ledger
// (台账) in Excel, and as CSV or JSON for upload to other systems.
//
// Records are streamed: a Writer takes one record at a time and never holds
// the whole export, so it pairs with jifen.RecordService.EachRecord:
//
//	w, err := export.NewRecordWriter(out, export.XLSX, meta)
//	if err != nil { … }
//	err = records.EachRecord(ctx, filter, w.Write)
//	if cerr := w.Close(); err == nil { err = cerr }
//
// All three formats share one column layout, in this order (FORMAT.md
// describes it for integrators, with types and examples):
//
//	序号               seq           row number in this export, from 1
//	志愿者编号         volunteer_no  the volunteer's number, may be empty
//	姓名               name          the volunteer's name
//	服务组织           org           the org the record belongs to
//	服务内容           content       what was done
//	服务地点           place         where
//	开始时间           started_at    RFC 3339 in +08:00 (CSV, JSON); an Excel datetime (XLSX)
//	结束时间           ended_at      likewise
//	服务时长（分钟）   minutes       integer; negative for a correction that takes time away
//	服务时长（小时）   hours         minutes / 60, one decimal
//	记录方式           how           自录 (self, scan), 补录 (backfilled), 更正 (correction)
//	核验时间           verified_at   like started_at
//	记录编号           record_id     the record's id
//	更正记录           corrects_id   the id of the record a correction corrects, else empty
//	记录方式代码       how_code      self, scan, backfilled or correction (CSV and JSON only)
//
// how_code comes last so that the first fourteen columns are the same in
// every format. XLSX adds a title row and a period row above the header and
// a totals row below the records; CSV and JSON carry no totals row, which
// would only trip a program reading them.
package export

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"jifen"
)

// Format is a file format for an export.
type Format string

// The formats a Writer can produce.
const (
	XLSX Format = "xlsx"
	CSV  Format = "csv"
	JSON Format = "json"
)

// SchemaID names the JSON layout; it changes only when the layout does.
const SchemaID = "jifen.service_records.v1"

// ParseFormat reads a format name (xlsx, csv or json, in any case).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case XLSX, CSV, JSON:
		return f, nil
	}
	return "", jifen.Invalid("format", "导出格式只能是 xlsx、csv 或 json", "The export format must be xlsx, csv or json")
}

// ContentType is the MIME type to send the export with.
func (f Format) ContentType() string {
	switch f {
	case XLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case CSV:
		return "text/csv; charset=utf-8"
	case JSON:
		return "application/json"
	}
	return "application/octet-stream"
}

// Ext is the file name extension for the format, with its dot (".xlsx").
func (f Format) Ext() string {
	switch f {
	case XLSX, CSV, JSON:
		return "." + string(f)
	}
	return ""
}

// Meta describes an export as a whole. From and To mean what they mean in
// jifen.RecordFilter: records that started at or after From and before To;
// either may be zero for "no bound".
type Meta struct {
	Title       string // e.g. 崇信县志愿服务记录台账, above the XLSX header; empty means 志愿服务记录台账
	From, To    time.Time
	GeneratedAt time.Time // zero means now
}

// Writer writes service records one at a time. Close finishes the file; it
// must be called once, even after a failed Write, to release temporary
// files (the output is then incomplete, and Close reports the first error).
type Writer interface {
	Write(r *jifen.ServiceRecord) error
	Close() error
}

// NewRecordWriter returns a Writer that writes records to w in format f.
// CSV and JSON reach w as they go (buffered); XLSX is a zip whose directory
// comes last, so excelize assembles it and it reaches w on Close.
func NewRecordWriter(w io.Writer, f Format, meta Meta) (Writer, error) {
	if meta.Title == "" {
		meta.Title = defaultTitle
	}
	if meta.GeneratedAt.IsZero() {
		meta.GeneratedAt = time.Now()
	}
	switch f {
	case XLSX:
		return newXLSXWriter(w, meta)
	case CSV:
		return newCSVWriter(w, meta), nil
	case JSON:
		return newJSONWriter(w, meta), nil
	}
	_, err := ParseFormat(string(f))
	return nil, err
}

// defaultTitle heads an export whose Meta has no title.
const defaultTitle = "志愿服务记录台账"

// errClosed is returned by Write after Close: a caller bug, not a user's.
var errClosed = errors.New("export: write after close")

var errNilRecord = errors.New("export: nil record")

// column is one column of the layout. The order of columns is the order of
// the fields in every format; the index constants below follow it.
type column struct {
	zh, en string
	width  float64 // XLSX width in characters
}

var columns = []column{
	{"序号", "seq", 7},
	{"志愿者编号", "volunteer_no", 16},
	{"姓名", "name", 10},
	{"服务组织", "org", 22},
	{"服务内容", "content", 32},
	{"服务地点", "place", 20},
	{"开始时间", "started_at", 17},
	{"结束时间", "ended_at", 17},
	{"服务时长（分钟）", "minutes", 10},
	{"服务时长（小时）", "hours", 10},
	{"记录方式", "how", 9},
	{"核验时间", "verified_at", 17},
	{"记录编号", "record_id", 11},
	{"更正记录", "corrects_id", 11},
	{"记录方式代码", "how_code", 12}, // CSV and JSON only
}

// Column indexes, in layout order.
const (
	colSeq = iota
	colVolunteerNo
	colName
	colOrg
	colContent
	colPlace
	colStartedAt
	colEndedAt
	colMinutes
	colHours
	colHow
	colVerifiedAt
	colRecordID
	colCorrectsID
	colHowCode
	numColumns
)

// xlsxColumns is how many columns the spreadsheet shows: all but how_code.
const xlsxColumns = colHowCode

// howLabel is the ledger's word for how a record came about.
func howLabel(how string) string {
	switch how {
	case jifen.HowSelf, jifen.HowScan:
		return "自录"
	case jifen.HowBackfilled:
		return "补录"
	case jifen.HowCorrection:
		return "更正"
	}
	return how // an unknown code is shown rather than hidden
}

// hoursText renders minutes as hours with one decimal, rounding half away
// from zero in integer arithmetic so that -2 minutes is "0.0", not "-0.0".
func hoursText(minutes int) string {
	neg := minutes < 0
	m := minutes
	if neg {
		m = -m
	}
	tenths := (m + 3) / 6
	if tenths == 0 {
		neg = false
	}
	s := strconv.Itoa(tenths/10) + "." + strconv.Itoa(tenths%10)
	if neg {
		return "-" + s
	}
	return s
}

// stamp renders a time as RFC 3339 in jifen.Zone (+08:00), "" for zero.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(jifen.Zone).Format(time.RFC3339)
}

// periodText describes Meta's period for people: whole days as dates, with
// the exclusive end shown as the last day it includes.
func periodText(from, to time.Time) string {
	day := func(t time.Time, end bool) string {
		t = t.In(jifen.Zone)
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
			if end {
				t = t.AddDate(0, 0, -1)
			}
			return t.Format("2006-01-02")
		}
		return t.Format("2006-01-02 15:04")
	}
	switch {
	case from.IsZero() && to.IsZero():
		return "全部记录"
	case from.IsZero():
		return "截至 " + day(to, true)
	case to.IsZero():
		return day(from, false) + " 起"
	}
	return day(from, false) + " 至 " + day(to, true)
}

// base holds what every format's writer does alike: numbering rows, summing
// minutes, and remembering the first error so that a broken destination is
// reported once and not written to again.
type base struct {
	seq     int
	minutes int64
	err     error
	closed  bool
}

// next checks that a Write may go ahead and numbers the record.
func (b *base) next(r *jifen.ServiceRecord) error {
	switch {
	case b.closed:
		return errClosed
	case b.err != nil:
		return b.err
	case r == nil:
		return errNilRecord
	}
	b.seq++
	b.minutes += int64(r.Minutes)
	return nil
}

// fail records the first error and returns it.
func (b *base) fail(err error) error {
	if err != nil && b.err == nil {
		b.err = err
	}
	return err
}
