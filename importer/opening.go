package importer

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"jifen"
)

// IdentKind says what identifies the person of an opening-balance row.
type IdentKind string

// The identifier kinds, most specific first: a volunteer number and an
// ID number belong to one person, a phone is often shared in a family.
const (
	IdentVolunteerNo IdentKind = "volunteer_no"
	IdentIDNumber    IdentKind = "id_number"
	IdentPhone       IdentKind = "phone"
)

var identZh = map[IdentKind]string{IdentVolunteerNo: "志愿者编号", IdentIDNumber: "身份证号", IdentPhone: "手机号"}

// Zh is the kind's Chinese name.
func (k IdentKind) Zh() string { return identZh[k] }

// MaxOpeningPoints bounds one opening balance: a paper ledger of a village
// never holds ten million points, a typo or a pasted ID number might.
const MaxOpeningPoints = 10_000_000

// OpeningRow is one non-blank data row of an opening-balance sheet from a
// paper points ledger (台账).
type OpeningRow struct {
	// Row is the 1-based data row (the first row under the header is 1).
	Row int
	// SheetRow is the 1-based row number a spreadsheet program shows.
	SheetRow int
	// Kind and Ident identify the person: the most specific identifier
	// the row gives (volunteer number, then ID number, then phone),
	// normalised (digits only; an ID number's X upper-cased). The caller
	// resolves it to a person.
	Kind  IdentKind
	Ident string
	// Raw is that identifier's cell as written in the file.
	Raw string
	// VolunteerNo, IDNumber and Phone are every identifier the row gives,
	// normalised, for cross-checking against the person Ident resolves to.
	VolunteerNo string
	IDNumber    string
	Phone       string
	// Name is the name as written (optional), for cross-checking too.
	Name string
	// Points is the opening balance, 0 to MaxOpeningPoints.
	Points int64
	Note   string
	// OK is true when no RowError names this row.
	OK bool
}

// Input is the row as the service takes it, once the caller has resolved
// Ident to personID.
func (o OpeningRow) Input(personID int64) jifen.OpeningInput {
	return jifen.OpeningInput{PersonID: personID, Points: o.Points, Note: o.Note}
}

// Openings is the outcome of reading one opening-balance sheet.
type Openings struct {
	// Items are the rows without problems, in file order.
	Items []OpeningRow
	// Rows are every non-blank data row, good and bad, in file order.
	Rows []OpeningRow
	// Problems are the row-level errors, in row order; Field is one of
	// volunteer_no, id_number, phone, identifier (none given), name,
	// points, note.
	Problems []RowError
	// Warnings are file-level notes that do not stop the import.
	Warnings []string
	// Total is the number of non-blank data rows.
	Total int
}

var openingHeaderKeys = map[string]string{
	"志愿者编号": "volunteer_no", "志愿编号": "volunteer_no", "志愿者号": "volunteer_no", "志愿者证号": "volunteer_no",
	"手机号": "phone", "手机": "phone", "手机号码": "phone", "联系电话": "phone", "电话": "phone",
	"身份证号": "id_number", "身份证": "id_number", "身份证号码": "id_number", "公民身份号码": "id_number",
	"姓名": "name", "名字": "name",
	"积分": "points", "期初积分": "points", "余额": "points", "积分余额": "points", "期初余额": "points",
	"剩余积分": "points", "结余积分": "points", "现有积分": "points", "可用积分": "points",
	"备注": "note", "说明": "note",
	"序号": "-", "序": "-",
	"volunteer_no": "volunteer_no", "phone": "phone", "id_number": "id_number", "name": "name", "points": "points", "note": "note",
}

var openingFieldZh = map[string]string{
	"volunteer_no": "志愿者编号", "phone": "手机号", "id_number": "身份证号", "identifier": "志愿者编号/手机号/身份证号",
	"name": "姓名", "points": "期初积分", "note": "备注",
}

// ParseOpening reads an opening-balance sheet (XLSX or CSV in UTF-8, GBK
// or UTF-16) with the limits of Parse. Each row names a person by 志愿者编号,
// 身份证号 or 手机号, and gives 积分 (期初积分, 余额), a whole number of at
// least 0; 姓名 and 备注 are optional. File-level problems come back as a
// *jifen.Error (codes bad_file, file_too_large, too_many_rows,
// missing_columns, no_rows); row-level problems are in Openings.Problems.
// Two rows naming the same person by the same identifier are both bad.
func ParseOpening(r io.Reader, filename string) (*Openings, error) {
	return parseOpening(r, filename, Options{})
}

func parseOpening(r io.Reader, filename string, opts Options) (out *Openings, err error) {
	opts = opts.withDefaults()
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	defer recoverBadFile(&err)
	tables, release, err := readUpload(r, filename, opts)
	if err != nil {
		return nil, err
	}
	defer release()
	s := pickSheet(tables, openingHeaderKeys, openingFieldZh, func(keys map[string]bool) bool {
		return keys["points"] && (keys["volunteer_no"] || keys["phone"] || keys["id_number"])
	})
	if s == nil {
		return nil, jifen.Errorf(jifen.KindInvalid, "missing_columns", "file",
			"找不到“积分”列和志愿者编号、身份证号或手机号列。表格第一行应为表头，例如：姓名、手机号、期初积分、备注",
			"No 积分 (points) column beside a 志愿者编号, 身份证号 or 手机号 column found. The first row must be the header, e.g. 姓名, 手机号, 期初积分, 备注")
	}
	out = &Openings{Warnings: s.warnings}
	for _, sr := range s.rows() {
		out.Total++
		if out.Total > opts.MaxRows {
			return nil, tooManyRows(opts.MaxRows)
		}
		row, errs := s.opening(sr, opts.Now)
		out.Rows = append(out.Rows, row)
		out.Problems = append(out.Problems, errs...)
	}
	if out.Total == 0 {
		return nil, jifen.Errorf(jifen.KindInvalid, "no_rows", "file", "表格中只有表头，没有积分数据", "The file has a header but no balances")
	}
	// Only the identifier that names the person must be unique: a phone
	// beside an ID number may well be a family's shared one.
	dups := make([]dupEntry, 0, len(out.Rows))
	bad := badFields(out.Problems)
	for i, row := range out.Rows {
		if row.Ident != "" && !bad[fieldAt{row.SheetRow, string(row.Kind)}] {
			dups = append(dups, dupEntry{i, row.SheetRow, string(row.Kind) + ":" + row.Ident})
		}
	}
	for _, d := range markDuplicates(dups) {
		row := &out.Rows[d.index]
		field := string(row.Kind)
		out.Problems = append(out.Problems, s.problem(row.SheetRow, field,
			fmt.Sprintf("与第%d行%s重复", d.other, row.Kind.Zh()),
			fmt.Sprintf("Same %s as row %d", strings.ReplaceAll(field, "_", " "), d.other)))
		row.OK = false
	}
	sortProblems(out.Problems)
	for _, row := range out.Rows {
		if row.OK {
			out.Items = append(out.Items, row)
		}
	}
	return out, nil
}

// opening reads and checks one data row.
func (s *sheet) opening(sr sheetRow, now time.Time) (OpeningRow, []RowError) {
	c := s.check(sr)
	out := OpeningRow{Row: sr.n - s.header, SheetRow: sr.n}

	if raw := s.text(sr, "volunteer_no"); raw != "" {
		no := strings.ReplaceAll(halfWidth(raw), " ", "")
		if len(no) != 12 || strings.Trim(no, "0123456789") != "" {
			c.add("volunteer_no", "志愿者编号应为12位数字，表中是“"+short(raw)+"”",
				"A volunteer number has 12 digits, not “"+short(raw)+"”")
		}
		out.VolunteerNo = no
	}
	if raw := s.cell(sr, "id_number"); raw != "" {
		// As in Parse: a number cell keeps 15 significant digits, so a
		// longer number in one has lost its tail unless it still checks.
		id := jifen.NormalizeIDNumber(halfWidth(unquoteText(raw)))
		if s.numeric(sr, "id_number") {
			id = numberText(id)
		}
		err := jifen.CheckIDNumber(id, now)
		if err != nil && (s.numeric(sr, "id_number") && len(id) > 15 || jifen.SpreadsheetMangledID(id)) {
			c.add("id_number", mangledZh, mangledEn)
		} else if e, ok := asDomainError(err); ok {
			c.add("id_number", e.Zh, e.En)
		}
		out.IDNumber = id
	}
	if raw := s.text(sr, "phone"); raw != "" {
		p := jifen.NormalizeMobile(halfWidth(raw))
		if !jifen.ValidMobile(p) {
			c.add("phone", "手机号应为11位手机号码，表中是“"+short(raw)+"”",
				"A mobile number has 11 digits, not “"+short(raw)+"”")
		}
		out.Phone = p
	}
	switch {
	case out.VolunteerNo != "":
		out.Kind, out.Ident, out.Raw = IdentVolunteerNo, out.VolunteerNo, s.cell(sr, "volunteer_no")
	case out.IDNumber != "":
		out.Kind, out.Ident, out.Raw = IdentIDNumber, out.IDNumber, s.cell(sr, "id_number")
	case out.Phone != "":
		out.Kind, out.Ident, out.Raw = IdentPhone, out.Phone, s.cell(sr, "phone")
	default:
		var cols []string
		for _, k := range []string{"volunteer_no", "id_number", "phone"} {
			if _, ok := s.col[k]; ok {
				cols = append(cols, s.column(k))
			}
		}
		c.addAt("identifier", strings.Join(cols, "/"), "请填写"+strings.Join(cols, "、")+"中的一项，以确定是谁的积分",
			"Give one of "+strings.Join(cols, ", ")+" to say whose points these are")
	}

	if raw := s.cell(sr, "name"); raw != "" {
		name := jifen.CleanText(joinHanSpaces(raw))
		if err := jifen.CheckName("name", name, 50); err != nil {
			if e, ok := asDomainError(err); ok {
				c.add("name", "姓名"+strings.TrimPrefix(e.Zh, "名称"), e.En)
			}
		}
		out.Name = name
	}

	raw := s.cell(sr, "points")
	v, e := parseInteger(raw, s.numeric(sr, "points"), "积分", "分")
	switch {
	case raw == "":
		c.add("points", "期初积分不能为空，没有积分请填0", "The opening balance is required; write 0 for none")
	case e == numDecimal:
		c.add("points", "期初积分应为整数，表中是“"+short(raw)+"”", "The opening balance must be a whole number, not “"+short(raw)+"”")
	case e == numNotNumber:
		c.add("points", "期初积分“"+short(raw)+"”不是数字", "The opening balance “"+short(raw)+"” is not a number")
	case v < 0 || e == numRange && strings.HasPrefix(halfWidth(raw), "-"):
		c.add("points", "期初积分不能为负数，表中是“"+short(raw)+"”", "The opening balance cannot be negative, not “"+short(raw)+"”")
	case e == numRange || v > MaxOpeningPoints:
		c.add("points", fmt.Sprintf("期初积分太大，最多为%d，表中是“%s”", MaxOpeningPoints, short(raw)),
			fmt.Sprintf("The opening balance is at most %d, not “%s”", MaxOpeningPoints, short(raw)))
	default:
		out.Points = v
	}

	out.Note = jifen.CleanText(s.cell(sr, "note"))
	if utf8.RuneCountInString(out.Note) > 200 {
		c.add("note", "备注不能超过200字", "The note is at most 200 characters")
	}
	out.OK = len(c.errs) == 0
	return out, c.errs
}
