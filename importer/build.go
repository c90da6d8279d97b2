package importer

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"jifen"
)

// mangledZh and mangledEn say that a spreadsheet turned an ID number into a
// float; same wording as jifen.CheckIDNumber uses for "4.11102E+17".
const (
	mangledZh = "身份证号被表格软件存成了数字，后几位已丢失，请将该列设为文本后重新导出"
	mangledEn = "The ID number was saved as a spreadsheet number and its last digits are lost; format the column as text and export again"
)

// parser holds what one Parse needs across rows.
type parser struct {
	opts    Options
	t       *table
	header  int               // sheet row of the header
	col     map[string]int    // field key -> column index
	colName map[string]string // field key -> header text as in the file
	orgs    map[string]orgHit // ResolveOrg answers, one call per name
	roster  *Roster
}

type orgHit struct {
	id  int64
	bad *jifen.Error
}

// build picks the sheet with a roster header and checks every row of it.
func build(tables []*table, opts Options) (*Roster, error) {
	p := &parser{opts: opts, roster: &Roster{}, orgs: map[string]orgHit{}}
	nonEmpty := 0
	for _, t := range tables {
		if len(t.rows) > 0 {
			nonEmpty++
		}
		if p.t == nil {
			if h, ok := findHeader(t); ok {
				p.t, p.header = t, h
			}
		}
	}
	if p.t == nil {
		return nil, jifen.Errorf(jifen.KindInvalid, "missing_name_column", "file",
			"找不到“姓名”列。表格第一行应为表头，例如：姓名、性别、手机号、身份证号、政治面貌、所属组织、出生日期",
			"No 姓名 (name) column found. The first row must be the header, e.g. 姓名, 性别, 手机号, 身份证号, 政治面貌, 所属组织, 出生日期")
	}
	if nonEmpty > 1 {
		p.warn("工作簿中有多个工作表，只导入了“%s”", p.t.name)
	}
	p.mapHeader()
	if _, ok := p.col["org"]; ok && opts.ResolveOrg == nil {
		p.warn("未提供组织查找，已忽略“%s”列，全部导入到当前组织", p.colName["org"])
	}
	for _, sr := range p.t.rows {
		if sr.n <= p.header {
			continue
		}
		p.roster.Total++
		if p.roster.Total > opts.MaxRows {
			return nil, tooManyRows(opts.MaxRows)
		}
		if err := p.row(sr); err != nil {
			return nil, err
		}
	}
	p.markDuplicates()
	if p.roster.Total == 0 {
		return nil, jifen.Errorf(jifen.KindInvalid, "no_rows", "file", "表格中只有表头，没有人员数据", "The file has a header but no people")
	}
	return p.roster, nil
}

// findHeader returns the sheet row of the first row, among the first few,
// that has a name column: rows above it are a title such as "志愿者名册".
func findHeader(t *table) (int, bool) {
	for i, sr := range t.rows {
		if i >= headerSearch {
			break
		}
		for _, c := range sr.cells {
			if headerKey(c) == "name" {
				return sr.n, true
			}
		}
	}
	return 0, false
}

func (p *parser) mapHeader() {
	p.col, p.colName = map[string]int{}, map[string]string{}
	var unknown []string
	for _, sr := range p.t.rows {
		if sr.n != p.header {
			continue
		}
		for i, c := range sr.cells {
			text := clean(c)
			key := headerKey(c)
			switch {
			case text == "":
			case key == "":
				unknown = append(unknown, text)
			case p.colName[key] != "":
				p.warn("有两列都是“%s”，只读取了第一列", fieldZh[key])
			default:
				p.col[key], p.colName[key] = i, text
			}
		}
	}
	if len(unknown) > 0 {
		p.warn("已忽略无法识别的列：%s", strings.Join(unknown, "、"))
	}
}

func (p *parser) warn(format string, args ...any) {
	p.roster.Warnings = append(p.roster.Warnings, fmt.Sprintf(format, args...))
}

// rowCheck gathers the problems of one row, at most one per field: the
// first reason found for a field is the most specific one.
type rowCheck struct {
	p    *parser
	sr   sheetRow
	errs []RowError
}

func (c *rowCheck) add(field, zh, en string) {
	if c.has(field) {
		return
	}
	col := c.p.colName[field]
	if col == "" {
		col = fieldZh[field]
	}
	c.errs = append(c.errs, RowError{Row: c.sr.n - c.p.header, SheetRow: c.sr.n, Column: col, Field: field, Reason: zh, ReasonEn: en})
}

func (c *rowCheck) has(field string) bool {
	for _, e := range c.errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

// cell returns the cleaned text of a field in this row, "" when absent.
func (p *parser) cell(sr sheetRow, key string) string {
	i, ok := p.col[key]
	if !ok || i >= len(sr.cells) {
		return ""
	}
	return clean(sr.cells[i])
}

// numeric reports whether the field's cell in this row is a number cell.
func (p *parser) numeric(sr sheetRow, key string) bool {
	i, ok := p.col[key]
	return ok && p.t.numeric != nil && p.cell(sr, key) != "" && p.t.numeric(sr.n, i)
}

// row reads and checks one data row. Parse-level problems (a value that is
// not a gender at all) are recorded first; then PersonInput.Validate, the
// one source of the domain rules, is run again and again, each time setting
// the field it complained about to a harmless value, so that every bad field
// of the row is reported at once. It returns an error only to abort Parse.
func (p *parser) row(sr sheetRow) error {
	now := p.opts.Now
	c := &rowCheck{p: p, sr: sr}
	in := jifen.PersonInput{
		Name:   joinHanSpaces(p.cell(sr, "name")),
		Phone:  unquoteText(halfWidth(p.cell(sr, "phone"))),
		Skills: jifen.SplitSkills(p.cell(sr, "skills")),
	}
	if p.numeric(sr, "phone") {
		in.Phone = numberText(in.Phone)
	}

	// ID number. A number cell keeps 15 significant digits, so a longer
	// number in one has lost its tail unless it still reads as a correct
	// ID: say so, and never guess the digits. A number cell of 15 digits
	// or fewer is intact and gets the ordinary length message.
	in.IDNumber = jifen.NormalizeIDNumber(unquoteText(halfWidth(p.cell(sr, "id_number"))))
	idOK := in.IDNumber != "" && jifen.CheckIDNumber(in.IDNumber, now) == nil
	lostDigits := p.numeric(sr, "id_number") && !idOK && len(numberText(in.IDNumber)) > 15
	if lostDigits || jifen.SpreadsheetMangledID(in.IDNumber) {
		c.add("id_number", mangledZh, mangledEn)
	}

	// Gender; an empty cell is taken from a correct ID number, as the
	// number itself encodes it.
	if raw := p.cell(sr, "gender"); raw != "" {
		if g, ok := jifen.ParseGender(raw); ok {
			in.Gender = g
		} else {
			c.add("gender", "性别应为“男”或“女”，表中是“"+short(raw)+"”", "Gender must be 男 (male) or 女 (female), not “"+short(raw)+"”")
		}
	} else if idOK {
		in.Gender = jifen.IDGender(in.IDNumber)
	}

	if raw := p.cell(sr, "political_status"); raw != "" {
		if ps, ok := jifen.ParsePoliticalStatus(raw); ok {
			in.PoliticalStatus = ps
		} else {
			c.add("political_status", "政治面貌“"+short(raw)+"”无法识别，应为群众、共青团员、中共党员、中共预备党员或民主党派",
				"Unknown political status “"+short(raw)+"”; use 群众, 共青团员, 中共党员, 中共预备党员 or 民主党派")
		}
	}

	yearMonth := ""
	if raw := halfWidth(p.cell(sr, "birth_date")); raw != "" {
		switch d, kind := parseDate(raw, p.numeric(sr, "birth_date"), p.t.date1904); kind {
		case dateFull:
			in.BirthDate = d
		case dateYearMonth:
			yearMonth = d
		default:
			c.add("birth_date", "出生日期“"+short(raw)+"”无法识别，请写成 1988-08-21 这样的格式",
				"Birth date “"+short(raw)+"” is not a date; write it like 1988-08-21")
		}
	}

	out := Row{Row: sr.n - p.header, SheetRow: sr.n, Org: p.cell(sr, "org")}
	in.OrgID = p.opts.DefaultOrgID
	if out.Org != "" && p.opts.ResolveOrg != nil {
		hit, err := p.resolveOrg(out.Org)
		if err != nil {
			return err
		}
		if hit.bad != nil {
			c.add("org", hit.bad.Zh, hit.bad.En)
		} else {
			in.OrgID = hit.id
		}
	}

	// probe is the copy Validate normalises and the loop below defaces.
	probe := in
	for _, e := range c.errs {
		neutraliseField(&probe, e.Field, now)
	}
	for range 16 { // more rounds than fields: a safety net, not a limit
		err := probe.Validate(now)
		if err == nil {
			break
		}
		var e *jifen.Error
		if !errors.As(err, &e) {
			return err
		}
		field := e.Field
		if field == "org_id" {
			field = "org"
		}
		if !c.has(field) {
			c.add(field, e.Zh, e.En)
		}
		if !neutraliseField(&probe, field, now) {
			break
		}
	}
	if yearMonth != "" && !c.has("birth_date") {
		switch {
		case probe.IDNumber == "" || c.has("id_number"):
			c.add("birth_date", "出生日期需写到日，如 1988-08-21", "The birth date needs a day, like 1988-08-21")
		case !strings.HasPrefix(probe.BirthDate, yearMonth):
			c.add("birth_date", "出生年月与身份证号不一致", "Birth month does not match the ID number")
		}
	}

	if len(c.errs) == 0 {
		out.Input, out.OK = probe, true
	} else {
		out.Input = in
		p.roster.Errors = append(p.roster.Errors, c.errs...)
	}
	p.roster.Rows = append(p.roster.Rows, out)
	return nil
}

// resolveOrg asks ResolveOrg once per distinct name: a roster of thousands
// names the same handful of teams.
func (p *parser) resolveOrg(name string) (orgHit, error) {
	if hit, ok := p.orgs[name]; ok {
		return hit, nil
	}
	id, err := p.opts.ResolveOrg(name)
	var hit orgHit
	switch e, domain := asDomainError(err); {
	case err == nil:
		hit.id = id
	case domain && e.Kind == jifen.KindNotFound:
		hit.bad = jifen.Invalid("org", "组织不存在："+short(name), "No such organisation: "+short(name))
	case domain:
		hit.bad = jifen.Invalid("org", e.Zh+"："+short(name), e.En+": "+short(name))
	default:
		return hit, err
	}
	p.orgs[name] = hit
	return hit, nil
}

// neutraliseField sets a field already found bad to a value Validate
// accepts, so that Validate goes on to the fields after it; false when the
// field is not one it knows, to end the loop rather than spin.
func neutraliseField(in *jifen.PersonInput, field string, now time.Time) bool {
	switch field {
	case "name":
		in.Name = "某"
	case "gender":
		// Validate compares the gender with a valid ID number.
		in.Gender = jifen.Male
		if id := jifen.NormalizeIDNumber(in.IDNumber); len(id) == 18 && jifen.CheckIDNumber(id, now) == nil {
			in.Gender = jifen.IDGender(id)
		}
	case "phone":
		in.Phone = ""
	case "id_number":
		in.IDNumber = ""
	case "birth_date":
		in.BirthDate = ""
	case "political_status":
		in.PoliticalStatus = jifen.Masses
	case "skills":
		in.Skills = nil
	case "org":
		in.OrgID = 1 // any id: the row is already bad, it is never saved
	default:
		return false
	}
	return true
}

// short cuts a cell quoted in a message: the message is for a person, and a
// pasted paragraph in a gender cell would drown it.
func short(s string) string {
	const max = 20
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

// markDuplicates flags every row that shares a phone or an ID number with
// another row of the file, naming the other row. The file alone cannot
// tell which of the two is right (often the first is the copy), so both go
// back to the admin rather than silently keeping one.
func (p *parser) markDuplicates() {
	type key struct{ field, value string }
	inError := map[int]map[string]bool{} // sheet row → fields already bad
	for _, e := range p.roster.Errors {
		if inError[e.SheetRow] == nil {
			inError[e.SheetRow] = map[string]bool{}
		}
		inError[e.SheetRow][e.Field] = true
	}
	groups := map[key][]int{} // indexes into Rows, in file order
	var order []key
	for i, row := range p.roster.Rows {
		for _, k := range []key{{"phone", jifen.NormalizeMobile(row.Input.Phone)}, {"id_number", jifen.NormalizeIDNumber(row.Input.IDNumber)}} {
			if k.value == "" || inError[row.SheetRow][k.field] {
				continue // a value that is itself bad is not compared
			}
			if len(groups[k]) == 0 {
				order = append(order, k)
			}
			groups[k] = append(groups[k], i)
		}
	}
	added := false
	for _, k := range order {
		members := groups[k]
		if len(members) < 2 {
			continue
		}
		for _, i := range members {
			other := members[0]
			if other == i {
				other = members[1]
			}
			row, otherRow := &p.roster.Rows[i], p.roster.Rows[other].SheetRow
			col := p.colName[k.field]
			if col == "" {
				col = fieldZh[k.field]
			}
			zh, en := fmt.Sprintf("与第%d行手机号重复", otherRow), fmt.Sprintf("Same phone number as row %d", otherRow)
			if k.field == "id_number" {
				zh, en = fmt.Sprintf("与第%d行身份证号重复", otherRow), fmt.Sprintf("Same ID number as row %d", otherRow)
			}
			p.roster.Errors = append(p.roster.Errors, RowError{Row: row.Row, SheetRow: row.SheetRow, Column: col, Field: k.field, Reason: zh, ReasonEn: en})
			row.OK = false
			added = true
		}
	}
	if added {
		sort.SliceStable(p.roster.Errors, func(a, b int) bool { return p.roster.Errors[a].SheetRow < p.roster.Errors[b].SheetRow })
	}
}
