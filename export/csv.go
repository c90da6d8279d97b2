package export

import (
	"bufio"
	"encoding/csv"
	"io"
	"strconv"

	"jifen"
)

// utf8BOM lets Excel and WPS on Chinese Windows recognise UTF-8; without it
// they read the file as GBK and every name turns to mojibake.
const utf8BOM = "\uFEFF"

type csvWriter struct {
	base
	buf *bufio.Writer
	w   *csv.Writer
	row []string
}

func newCSVWriter(w io.Writer, meta Meta) *csvWriter {
	buf := bufio.NewWriterSize(w, 64<<10)
	_, _ = buf.WriteString(utf8BOM) // a write error resurfaces on Flush
	cw := &csvWriter{buf: buf, w: csv.NewWriter(buf), row: make([]string, numColumns)}
	cw.w.UseCRLF = true // RFC 4180; line breaks inside a quoted value become CRLF too
	for i, c := range columns {
		cw.row[i] = c.zh
	}
	_ = cw.fail(cw.w.Write(cw.row))
	return cw
}

func (c *csvWriter) Write(r *jifen.ServiceRecord) error {
	if err := c.next(r); err != nil {
		return err
	}
	row := c.row
	row[colSeq] = strconv.Itoa(c.seq)
	row[colVolunteerNo] = csvText(r.VolunteerNo)
	row[colName] = csvText(r.PersonName)
	row[colOrg] = csvText(r.OrgName)
	row[colContent] = csvText(r.Content)
	row[colPlace] = csvText(r.Place)
	row[colStartedAt] = stamp(r.StartedAt)
	row[colEndedAt] = stamp(r.EndedAt)
	row[colMinutes] = strconv.Itoa(r.Minutes)
	row[colHours] = hoursText(r.Minutes)
	row[colHow] = howLabel(r.How)
	row[colVerifiedAt] = stamp(r.VerifiedAt)
	row[colRecordID] = strconv.FormatInt(r.ID, 10)
	row[colCorrectsID] = ""
	if r.Corrects != nil {
		row[colCorrectsID] = strconv.FormatInt(*r.Corrects, 10)
	}
	row[colHowCode] = r.How
	return c.fail(c.w.Write(row))
}

func (c *csvWriter) Close() error {
	if c.closed {
		return errClosed
	}
	c.closed = true
	if c.err != nil {
		return c.err
	}
	c.w.Flush() // also flushes c.buf: csv reuses a bufio.Writer it is given
	return c.fail(c.w.Error())
}

// csvText neutralises formula injection in a free-text value: people type
// names, content and places, and a CSV cell has no type, so Excel and WPS
// run a value such as =HYPERLINK(…) or +cmd|… as a formula when the file is
// opened. A leading single quote is the one guard every spreadsheet honours
// (OWASP's advice), so a value starting with = + - @ tab or CR gets one.
// So that the guard can be undone exactly, a value that already starts with
// a quote gets one too: a reader drops one leading ' from these columns and
// has the original text. Numbers, times and codes are ours and never need
// it; a correction's negative minutes stay a plain -30.
func csvText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return "'" + s
	}
	return s
}
