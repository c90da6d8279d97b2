package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"jifen"
)

// jsonRecord is one element of "records"; its fields follow the column
// layout, in order.
type jsonRecord struct {
	Seq         int         `json:"seq"`
	VolunteerNo string      `json:"volunteer_no"`
	Name        string      `json:"name"`
	Org         string      `json:"org"`
	Content     string      `json:"content"`
	Place       string      `json:"place"`
	StartedAt   *string     `json:"started_at"`
	EndedAt     *string     `json:"ended_at"`
	Minutes     int         `json:"minutes"`
	Hours       json.Number `json:"hours"` // "1.0" stays 1.0, as in the CSV
	How         string      `json:"how"`
	VerifiedAt  *string     `json:"verified_at"`
	RecordID    int64       `json:"record_id"`
	CorrectsID  *int64      `json:"corrects_id"`
	HowCode     string      `json:"how_code"`
}

// jsonHead is the top-level object up to the records array; Close writes
// the rest, so the array streams between them.
type jsonHead struct {
	Format      string  `json:"format"`
	Title       string  `json:"title"`
	GeneratedAt *string `json:"generated_at"`
	From        *string `json:"from"`
	To          *string `json:"to"`
}

type jsonWriter struct {
	base
	w       *bufio.Writer
	scratch bytes.Buffer
	enc     *json.Encoder
}

func newJSONWriter(w io.Writer, meta Meta) *jsonWriter {
	jw := &jsonWriter{w: bufio.NewWriterSize(w, 64<<10)}
	jw.enc = json.NewEncoder(&jw.scratch)
	jw.enc.SetEscapeHTML(false) // names with < or & stay readable; the file is not HTML
	head := jsonHead{Format: SchemaID, Title: meta.Title,
		GeneratedAt: stampPtr(meta.GeneratedAt), From: stampPtr(meta.From), To: stampPtr(meta.To)}
	if err := jw.enc.Encode(head); err != nil {
		_ = jw.fail(err)
		return jw
	}
	b := bytes.TrimRight(jw.scratch.Bytes(), "\n")
	_, _ = jw.w.Write(b[:len(b)-1]) // drop the closing brace; a write error resurfaces on Flush
	_, _ = jw.w.WriteString(`,"records":[`)
	return jw
}

func (j *jsonWriter) Write(r *jifen.ServiceRecord) error {
	if err := j.next(r); err != nil {
		return err
	}
	rec := jsonRecord{
		Seq: j.seq, VolunteerNo: r.VolunteerNo, Name: r.PersonName, Org: r.OrgName,
		Content: r.Content, Place: r.Place,
		StartedAt: stampPtr(r.StartedAt), EndedAt: stampPtr(r.EndedAt),
		Minutes: r.Minutes, Hours: json.Number(hoursText(r.Minutes)),
		How: howLabel(r.How), VerifiedAt: stampPtr(r.VerifiedAt),
		RecordID: r.ID, CorrectsID: r.Corrects, HowCode: r.How,
	}
	j.scratch.Reset()
	if err := j.enc.Encode(rec); err != nil {
		return j.fail(err)
	}
	sep := ",\n"
	if j.seq == 1 {
		sep = "\n"
	}
	_, _ = j.w.WriteString(sep)
	_, err := j.w.Write(bytes.TrimRight(j.scratch.Bytes(), "\n"))
	return j.fail(err)
}

func (j *jsonWriter) Close() error {
	if j.closed {
		return errClosed
	}
	j.closed = true
	if j.err != nil {
		return j.err
	}
	// count and total_minutes let a reader check it got everything.
	_, _ = j.w.WriteString("\n],\"count\":" + strconv.Itoa(j.seq) +
		",\"total_minutes\":" + strconv.FormatInt(j.minutes, 10) + "}\n")
	return j.fail(j.w.Flush())
}

// stampPtr is stamp for JSON: null rather than "" for a zero time.
func stampPtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := stamp(t)
	return &s
}
