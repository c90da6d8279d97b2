// Package importer reads a volunteer roster that a community office keeps in
// Excel (XLSX) or exports as CSV, and turns it into checked PersonInputs.
//
// It never writes anything: it reports, row by row and field by field, what
// is wrong, so an admin can fix the spreadsheet once instead of re-uploading
// it once per mistake. Saving the good rows is jifen.PersonService's job.
package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"jifen"
)

// Default limits: a county roster is a few thousand rows, so these only stop
// mistakes (a whole database dump) and abuse, not real offices.
const (
	DefaultMaxRows  = 50000    // data rows, header and blank rows not counted
	DefaultMaxBytes = 20 << 20 // bytes of the uploaded file
)

// Options tells Parse how to resolve organisations and when "now" is.
type Options struct {
	// Now is the day ID numbers and birth dates are checked against; zero
	// means time.Now(). Tests set it so they do not age.
	Now time.Time
	// DefaultOrgID is the home org of rows whose org cell is empty,
	// usually the org the admin is importing into.
	DefaultOrgID int64
	// ResolveOrg maps an org name from the file to its id. A *jifen.Error
	// of kind not_found marks the row bad as "组织不存在"; other kinds of
	// *jifen.Error (say org_ambiguous) mark it bad with their own message.
	// Any other error (a database failure) aborts Parse and is returned
	// as is, so an outage is not reported as thousands of unknown orgs.
	// When nil, org names are ignored and every row gets DefaultOrgID.
	ResolveOrg func(name string) (int64, error)
	// MaxRows caps the data rows (0: DefaultMaxRows).
	MaxRows int
	// MaxBytes caps the file size (0: DefaultMaxBytes).
	MaxBytes int64
}

// Row is one non-blank data row of the file.
type Row struct {
	// Row is the 1-based data row (the first row under the header is 1).
	Row int
	// SheetRow is the 1-based row number a spreadsheet program shows.
	SheetRow int
	// Input is the validated person when OK; for a bad row it is only
	// partly filled and must not be saved.
	Input jifen.PersonInput
	// Org is the org name as written in the file, empty when not given.
	Org string
	// OK is true when no RowError names this row.
	OK bool
}

// RowError is one problem with one field of one row; a row may have several.
type RowError struct {
	Row      int    // 1-based data row
	SheetRow int    // 1-based row including the header, as Excel shows it
	Column   string // the header text as written in the file (or the standard Chinese name when the column is missing)
	Field    string // name, gender, phone, id_number, political_status, org, birth_date or skills
	// Reason and ReasonEn say what is wrong in words fit for the admin.
	// When they name another row ("与第N行手机号重复") N is its SheetRow,
	// because that is the number the admin sees in the spreadsheet.
	Reason   string
	ReasonEn string
}

// Roster is the outcome of reading one file.
type Roster struct {
	Rows     []Row      // every non-blank data row, good and bad, in file order
	Errors   []RowError // the problems found, in row order
	Warnings []string   // file-level notes that do not stop the import (ignored columns, sheets)
	Total    int        // number of non-blank data rows
}

// Valid returns the inputs of the rows without problems, ready for
// jifen.PersonService.ImportPeople.
func (r *Roster) Valid() []jifen.PersonInput {
	var out []jifen.PersonInput
	for _, row := range r.Rows {
		if row.OK {
			in := row.Input
			in.Row = row.SheetRow // as the importer's own messages number it
			out = append(out, in)
		}
	}
	return out
}

// Parse reads a roster from r. The format is taken from the content (an
// XLSX is a zip, "PK"), not trusted from filename, which only sharpens the
// error message. File-level problems come back as a *jifen.Error; row-level
// problems are in Roster.Errors.
func Parse(r io.Reader, filename string, opts Options) (roster *Roster, err error) {
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	// The readers sit on third-party parsers fed with uploaded bytes; a
	// crafted file must end as a clear error, never as a crashed server.
	defer func() {
		if p := recover(); p != nil {
			roster, err = nil, badFile("文件内容已损坏，无法读取", "The file is damaged and cannot be read", fmt.Errorf("panic: %v", p))
		}
	}()
	tables, release, err := readUpload(r, filename, opts)
	if err != nil {
		return nil, err
	}
	defer release()
	return build(tables, opts)
}

// readUpload reads an uploaded file within opts.MaxBytes and splits it
// into tables (opts.MaxRows bounds each); the front of every Parse of this
// package. The returned func releases the workbook.
func readUpload(r io.Reader, filename string, opts Options) ([]*table, func(), error) {
	data, err := io.ReadAll(io.LimitReader(r, opts.MaxBytes+1))
	if err != nil {
		return nil, nil, badFile("无法读取上传的文件", "The uploaded file could not be read", err)
	}
	if int64(len(data)) > opts.MaxBytes {
		return nil, nil, tooLarge("file_too_large",
			fmt.Sprintf("文件太大，最大%dMB；请分成几个文件导入", opts.MaxBytes>>20),
			fmt.Sprintf("The file is too large (at most %d MB); split it into several files", opts.MaxBytes>>20))
	}
	return readTables(data, filename, opts)
}

// badFile is the one error for files that are not a readable roster.
func badFile(zh, en string, cause error) *jifen.Error {
	e := jifen.Errorf(jifen.KindInvalid, "bad_file", "file", zh, en)
	e.Err = cause
	return e
}

func tooLarge(code, zh, en string) *jifen.Error {
	return jifen.Errorf(jifen.KindTooLarge, code, "file", zh, en)
}

func tooManyRows(max int) *jifen.Error {
	return tooLarge("too_many_rows",
		fmt.Sprintf("数据超过%d行，请分成几个文件导入", max),
		fmt.Sprintf("More than %d data rows; split the file into several files", max))
}

// hasPrefix is bytes.HasPrefix with a string, for magic numbers.
func hasPrefix(b []byte, magic string) bool { return bytes.HasPrefix(b, []byte(magic)) }

// asDomainError reports whether err is a *jifen.Error that describes the
// input rather than a failure of ours.
func asDomainError(err error) (*jifen.Error, bool) {
	var e *jifen.Error
	if errors.As(err, &e) && e.Kind != jifen.KindInternal {
		return e, true
	}
	return nil, false
}
