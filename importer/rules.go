package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"jifen"
)

// RuleRow is one non-blank data row of a rule catalogue (积分规则).
type RuleRow struct {
	// Row is the 1-based data row (the first row under the header is 1).
	Row int
	// SheetRow is the 1-based row number a spreadsheet program shows.
	SheetRow int
	// Input is the validated rule when OK; for a bad row it is only
	// partly filled and must not be saved.
	Input jifen.RuleInput
	// CodeGenerated is true when the file gave no code and Input.Code was
	// derived from the category and the name (see GeneratedRuleCode).
	CodeGenerated bool
	// OK is true when no RowError names this row.
	OK bool
}

// Rules is the outcome of reading one rule catalogue.
type Rules struct {
	// Items are the validated inputs of the rows without problems, in file
	// order, ready for jifen.PointsService.ImportRules.
	Items []jifen.RuleInput
	// Rows are every non-blank data row, good and bad, in file order.
	Rows []RuleRow
	// Problems are the row-level errors, in row order; Field is one of
	// RuleInput's JSON names (code, name, category, points, unit,
	// daily_cap, monthly_cap, yearly_cap, life_cap, needs_evidence,
	// needs_review, valid_from, valid_to).
	Problems []RowError
	// Warnings are file-level notes that do not stop the import.
	Warnings []string
	// Total is the number of non-blank data rows.
	Total int
}

// ruleHeaderKeys maps the header words of rule catalogues to field keys.
// "-" marks a column that is known and deliberately not read.
var ruleHeaderKeys = map[string]string{
	"编码": "code", "规则编码": "code", "代码": "code", "规则代码": "code", "编号": "code", "规则编号": "code",
	"名称": "name", "规则名称": "name", "项目": "name", "项目名称": "name", "积分项目": "name", "事项": "name",
	"积分事项": "name", "积分内容": "name", "规则": "name",
	"类别": "category", "分类": "category", "类型": "category", "积分类别": "category", "规则类别": "category", "项目类别": "category",
	"分值": "points", "积分": "points", "分数": "points", "加减分": "points", "积分值": "points", "积分标准": "points", "计分标准": "points",
	"单位": "unit", "计分单位": "unit", "计量单位": "unit",
	"每日上限": "daily_cap", "日上限": "daily_cap", "每天上限": "daily_cap",
	"每月上限": "monthly_cap", "月上限": "monthly_cap",
	"每年上限": "yearly_cap", "年上限": "yearly_cap", "年度上限": "yearly_cap",
	"终身上限": "life_cap", "累计上限": "life_cap",
	"限一次": "once", "仅限一次": "once", "是否限一次": "once",
	"需要照片": "needs_evidence", "需要佐证": "needs_evidence", "需佐证": "needs_evidence", "需照片": "needs_evidence",
	"是否需要照片": "needs_evidence", "是否需要佐证": "needs_evidence", "需要证明": "needs_evidence",
	"需要审核": "needs_review", "需审核": "needs_review", "是否审核": "needs_review", "是否需要审核": "needs_review",
	"生效日期": "valid_from", "开始日期": "valid_from", "起始日期": "valid_from",
	"截止日期": "valid_to", "失效日期": "valid_to", "结束日期": "valid_to",
	"序号": "-", "序": "-",
	// The English field names, for files made by other programs.
	"code": "code", "name": "name", "category": "category", "points": "points", "unit": "unit",
	"daily_cap": "daily_cap", "monthly_cap": "monthly_cap", "yearly_cap": "yearly_cap", "life_cap": "life_cap",
	"needs_evidence": "needs_evidence", "needs_review": "needs_review", "valid_from": "valid_from", "valid_to": "valid_to",
}

// ruleFieldZh names a field's column when the file has no such column.
var ruleFieldZh = map[string]string{
	"code": "规则编码", "name": "名称", "category": "类别", "points": "分值", "unit": "计分单位",
	"daily_cap": "每日上限", "monthly_cap": "每月上限", "yearly_cap": "每年上限", "life_cap": "终身上限", "once": "限一次",
	"needs_evidence": "需要佐证", "needs_review": "需要审核", "valid_from": "生效日期", "valid_to": "截止日期",
}

// ParseRules reads a points rule catalogue from an XLSX or CSV file (UTF-8,
// GBK or UTF-16), with the limits of Parse (DefaultMaxBytes,
// DefaultMaxRows). Headers are Chinese (or the RuleInput JSON names), in
// any order. File-level problems come back as a *jifen.Error (codes
// bad_file, file_too_large, too_many_rows, missing_columns, no_rows);
// row-level problems are in Rules.Problems.
func ParseRules(r io.Reader, filename string) (*Rules, error) {
	return parseRules(r, filename, Options{})
}

func parseRules(r io.Reader, filename string, opts Options) (out *Rules, err error) {
	opts = opts.withDefaults()
	defer recoverBadFile(&err)
	tables, release, err := readUpload(r, filename, opts)
	if err != nil {
		return nil, err
	}
	defer release()
	s := pickSheet(tables, ruleHeaderKeys, ruleFieldZh, func(keys map[string]bool) bool {
		return keys["name"] && keys["points"]
	})
	if s == nil {
		return nil, jifen.Errorf(jifen.KindInvalid, "missing_columns", "file",
			"找不到“名称”和“分值”列。表格第一行应为表头，例如：编码、名称、类别、分值、单位、每日上限、需要佐证",
			"No 名称 (name) and 分值 (points) columns found. The first row must be the header, e.g. 编码, 名称, 类别, 分值, 单位, 每日上限, 需要佐证")
	}
	out = &Rules{Warnings: s.warnings}
	for _, sr := range s.rows() {
		out.Total++
		if out.Total > opts.MaxRows {
			return nil, tooManyRows(opts.MaxRows)
		}
		row, errs := s.rule(sr)
		out.Rows = append(out.Rows, row)
		out.Problems = append(out.Problems, errs...)
	}
	if out.Total == 0 {
		return nil, jifen.Errorf(jifen.KindInvalid, "no_rows", "file", "表格中只有表头，没有积分规则", "The file has a header but no rules")
	}
	dups := make([]dupEntry, 0, len(out.Rows))
	bad := badFields(out.Problems)
	for i, row := range out.Rows {
		if row.Input.Code != "" && !bad[fieldAt{row.SheetRow, "code"}] {
			dups = append(dups, dupEntry{i, row.SheetRow, strings.ToLower(row.Input.Code)})
		}
	}
	for _, d := range markDuplicates(dups) {
		row := &out.Rows[d.index]
		zh, en := fmt.Sprintf("与第%d行规则编码重复", d.other), fmt.Sprintf("Same code as row %d", d.other)
		if row.CodeGenerated || out.Rows[d.otherIndex].CodeGenerated {
			zh += "（未填编码的规则按类别和名称生成编码，两行可能是同一条规则）"
			en += " (a rule without a code gets one made from its category and name; the two rows may be the same rule)"
		}
		out.Problems = append(out.Problems, s.problem(row.SheetRow, "code", zh, en))
		row.OK = false
	}
	sortProblems(out.Problems)
	for _, row := range out.Rows {
		if row.OK {
			out.Items = append(out.Items, row.Input)
		}
	}
	return out, nil
}

// rule reads and checks one data row: the parse problems of each cell
// first, then RuleInput.Validate (the one source of the domain rules) again
// and again, each time setting the field it complained about to a harmless
// value, so that every bad field of the row is reported at once.
func (s *sheet) rule(sr sheetRow) (RuleRow, []RowError) {
	c := s.check(sr)
	in := jifen.RuleInput{
		Code: s.text(sr, "code"),
		Name: joinHanSpaces(s.cell(sr, "name")),
	}
	if raw := s.cell(sr, "category"); raw != "" {
		if cat, ok := jifen.ParseRuleCategory(raw); ok {
			in.Category = cat
		} else {
			names := make([]string, len(jifen.RuleCategories))
			for i, cat := range jifen.RuleCategories {
				names[i] = cat.Zh()
			}
			c.add("category", "类别“"+short(raw)+"”无法识别，应为"+strings.Join(names, "、")+"之一",
				"Unknown category “"+short(raw)+"”; use one of "+strings.Join(names, ", "))
		}
	}
	var pointsUnit jifen.RuleUnit // from "2分/小时" in the points cell
	if raw := s.cell(sr, "points"); raw == "" {
		c.add("points", "分值不能为空", "Points are required")
	} else if v, u, zh, en := parsePoints(raw, s.numeric(sr, "points")); zh != "" {
		c.add("points", zh, en)
	} else {
		in.Points, pointsUnit = v, u
	}
	if raw := s.cell(sr, "unit"); raw != "" {
		if u, ok := jifen.ParseRuleUnit(strings.TrimPrefix(raw, "分/")); !ok {
			c.add("unit", "计分单位“"+short(raw)+"”无法识别，应为每次、每小时或每件",
				"Unknown unit “"+short(raw)+"”; use 每次 (per event), 每小时 (per hour) or 每件 (per item)")
		} else if pointsUnit != "" && u != pointsUnit {
			c.add("unit", "计分单位是“"+u.Zh()+"”，分值却写的是“"+pointsUnit.Zh()+"”",
				"The unit is "+string(u)+" but the points say "+string(pointsUnit))
		} else {
			in.Unit = u
		}
	} else {
		in.Unit = pointsUnit
	}
	for _, f := range []struct {
		key string
		v   *int64
	}{{"daily_cap", &in.DailyCap}, {"monthly_cap", &in.MonthlyCap}, {"yearly_cap", &in.YearlyCap}, {"life_cap", &in.LifeCap}} {
		raw := s.cell(sr, f.key)
		v, ok := parseCap(raw, s.numeric(sr, f.key))
		if !ok {
			c.add(f.key, s.column(f.key)+"“"+short(raw)+"”应为整数，不限请留空或填0",
				s.column(f.key)+" “"+short(raw)+"” is not a whole number; leave it empty or write 0 for no cap")
			continue
		}
		*f.v = v
	}
	if raw := s.cell(sr, "once"); raw != "" {
		switch once, ok := parseYesNo(raw); {
		case !ok:
			c.addAt("life_cap", s.column("once"), s.column("once")+"应填“是”或“否”，表中是“"+short(raw)+"”",
				s.column("once")+" must be 是 (yes) or 否 (no), not “"+short(raw)+"”")
		case once && in.LifeCap == 0 && !c.has("life_cap"):
			in.LifeCap = 1
		case once && in.LifeCap != 1 && !c.has("life_cap"):
			c.addAt("life_cap", s.column("once"), "“"+s.column("once")+"”为是，终身上限应为1或不填",
				"“"+s.column("once")+"” says once only, so the life cap must be 1 or empty")
		}
	}
	for _, f := range []struct {
		key string
		v   *bool
	}{{"needs_evidence", &in.NeedsEvidence}, {"needs_review", &in.NeedsReview}} {
		raw := s.cell(sr, f.key)
		v, ok := parseYesNo(raw)
		if !ok {
			c.add(f.key, s.column(f.key)+"应填“是”或“否”，表中是“"+short(raw)+"”",
				s.column(f.key)+" must be 是 (yes) or 否 (no), not “"+short(raw)+"”")
			continue
		}
		*f.v = v
	}
	for _, f := range []struct {
		key string
		v   *string
	}{{"valid_from", &in.ValidFrom}, {"valid_to", &in.ValidTo}} {
		raw := s.cell(sr, f.key)
		d, zh, en := parseRuleDate(raw, s.numeric(sr, f.key), s.t.date1904)
		if zh != "" {
			c.add(f.key, s.column(f.key)+zh, s.column(f.key)+": "+en)
			continue
		}
		*f.v = d
	}

	out := RuleRow{Row: sr.n - s.header, SheetRow: sr.n}
	if in.Code == "" {
		// Without a code a re-import could not find the rule again, so
		// one is made from what identifies the rule in the sheet.
		if name := jifen.CleanText(in.Name); name != "" && !c.has("category") {
			in.Code, out.CodeGenerated = GeneratedRuleCode(in.Category, name), true
		} else {
			// The name or category is reported already; a code is
			// missing only because of them.
			c.neutral("code")
		}
	}

	probe := in
	for _, e := range c.errs {
		neutraliseRule(&probe, e.Field)
	}
	for _, f := range c.quiet {
		neutraliseRule(&probe, f)
	}
	for range 16 { // more rounds than fields: a safety net, not a limit
		err := probe.Validate()
		if err == nil {
			break
		}
		var e *jifen.Error
		if !errors.As(err, &e) {
			break // not reached: Validate returns *jifen.Error
		}
		c.add(e.Field, e.Zh, e.En)
		if !neutraliseRule(&probe, e.Field) {
			break
		}
	}
	if len(c.errs) == 0 {
		out.Input, out.OK = probe, true
	} else {
		out.Input = in
	}
	return out, c.errs
}

// neutraliseRule sets a field already found bad to a value Validate
// accepts; false when the field is not one it knows.
func neutraliseRule(in *jifen.RuleInput, field string) bool {
	switch field {
	case "code":
		in.Code = "x"
	case "name":
		in.Name = "某"
	case "category":
		in.Category = jifen.CatOther
	case "points":
		in.Points = 1
	case "unit":
		in.Unit = jifen.PerEvent
	case "daily_cap":
		in.DailyCap = 0
	case "monthly_cap":
		in.MonthlyCap = 0
	case "yearly_cap":
		in.YearlyCap = 0
	case "life_cap":
		in.LifeCap = 0
	case "needs_evidence", "needs_review":
	case "valid_from":
		in.ValidFrom = ""
	case "valid_to":
		in.ValidTo = ""
	default:
		return false
	}
	return true
}

// categorySlugs are the short prefixes of generated codes.
var categorySlugs = map[jifen.RuleCategory]string{
	jifen.CatVolunteerService: "vol", jifen.CatEnvironment: "env", jifen.CatFilialPiety: "filial",
	jifen.CatCustomsReform: "customs", jifen.CatCivility: "civ", jifen.CatLawAbiding: "law",
	jifen.CatLearning: "learn", jifen.CatOther: "other",
}

// GeneratedRuleCode is the code a rule without one gets: a slug of its
// category and the first 6 hex digits of the SHA-256 of its name (spaces
// removed), e.g. "env-3fa2c1". The same category and name give the same
// code on every import, so re-importing an edited sheet re-versions the
// rule instead of adding a second one; renaming or re-categorising a rule
// without a code makes it a new rule.
func GeneratedRuleCode(cat jifen.RuleCategory, name string) string {
	slug, ok := categorySlugs[cat]
	if !ok {
		slug = categorySlugs[jifen.CatOther]
	}
	name = strings.Join(strings.Fields(jifen.CleanText(name)), "")
	sum := sha256.Sum256([]byte(name))
	return slug + "-" + hex.EncodeToString(sum[:3])
}

// parsePoints reads a signed rule value: "5", "+5", "-10", "5分", "扣10分",
// "加5分", "－１０" (full width), a number cell, and the forms with a unit,
// "2分/小时" or "每次扣5分", whose unit it returns too (else ""). The
// messages say why the text is not one whole number.
func parsePoints(raw string, numeric bool) (v int64, unit jifen.RuleUnit, zh, en string) {
	s := halfWidth(raw)
	for _, p := range []string{"每小时", "每次", "每件", "每个"} {
		if t, ok := strings.CutPrefix(s, p); ok {
			unit, _ = jifen.ParseRuleUnit(p)
			s = strings.TrimSpace(t)
			break
		}
	}
	neg := false
	for _, p := range []string{"扣除", "扣", "减", "罚"} {
		if t, ok := strings.CutPrefix(s, p); ok {
			s, neg = strings.TrimSpace(t), true
			break
		}
	}
	if !neg {
		for _, p := range []string{"加", "奖励", "奖", "得"} {
			if t, ok := strings.CutPrefix(s, p); ok {
				s = strings.TrimSpace(t)
				break
			}
		}
	}
	if before, after, ok := strings.Cut(s, "/"); ok && unit == "" {
		if u, ok := jifen.ParseRuleUnit(strings.TrimSpace(after)); ok && strings.TrimSpace(after) != "" {
			s, unit = strings.TrimSpace(before), u
		}
	}
	v, e := parseInteger(s, numeric, "积分", "分")
	switch e {
	case numDecimal:
		return 0, "", "分值应为整数，表中是“" + short(raw) + "”", "Points must be a whole number, not “" + short(raw) + "”"
	case numRange:
		return 0, "", fmt.Sprintf("分值应在-%d到%d之间", jifen.MaxRulePoints, jifen.MaxRulePoints),
			fmt.Sprintf("Points must be between -%d and %d", jifen.MaxRulePoints, jifen.MaxRulePoints)
	case numNotNumber:
		return 0, "", "分值“" + short(raw) + "”无法识别，应写成 5、+5、-10 或 扣10分",
			"Points “" + short(raw) + "” are not a number; write them like 5, +5, -10 or 扣10分"
	}
	if neg && v > 0 {
		v = -v
	}
	return v, unit, "", ""
}

// parseCap reads a cap: a whole number, with an optional unit ("3次"),
// full-width digits, or a word for none ("不限", "无", "-"); empty is 0.
func parseCap(raw string, numeric bool) (int64, bool) {
	s := halfWidth(raw)
	switch s {
	case "", "不限", "无", "无上限", "不限制", "-", "—", "/", "无限制":
		return 0, true
	}
	for _, u := range []string{"次", "小时", "件", "个", "分"} {
		if t, ok := strings.CutSuffix(s, u); ok {
			s = strings.TrimSpace(t)
			break
		}
	}
	if v, ok := hanNumbers[s]; ok {
		return v, true
	}
	v, e := parseInteger(s, numeric)
	return v, e == numOK
}

// hanNumbers are the numerals caps are written with ("一次", "两次").
var hanNumbers = map[string]int64{"零": 0, "一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}

// parseYesNo reads a yes/no cell; empty is no.
func parseYesNo(raw string) (bool, bool) {
	switch strings.ToLower(halfWidth(raw)) {
	case "是", "需要", "要", "需", "有", "必须", "对", "y", "yes", "true", "1", "√", "✓", "✔", "☑":
		return true, true
	case "", "否", "不需要", "不要", "不需", "无", "没有", "不", "n", "no", "false", "0", "×", "✗", "✘", "x", "☐":
		return false, true
	}
	return false, false
}

// parseRuleDate reads a start or end date as the roster reads birth
// dates, plus the words meaning "open-ended". The Chinese message is to
// follow the column name.
func parseRuleDate(raw string, numeric, date1904 bool) (string, string, string) {
	switch raw {
	case "", "长期", "长期有效", "永久", "无", "不限", "-", "—", "/":
		return "", "", ""
	}
	d, kind := parseDate(halfWidth(raw), numeric, date1904)
	switch kind {
	case dateFull:
		return d, "", ""
	case dateYearMonth:
		return "", "需写到日，如 2026-01-01", "The date needs a day, like 2026-01-01"
	}
	return "", "“" + short(raw) + "”无法识别，请写成 2026-01-01 这样的格式", "“" + short(raw) + "” is not a date; write it like 2026-01-01"
}

// halfWidth cleans a cell and turns the full-width digits, signs and
// separators of Chinese input methods into ASCII, and the other dashes
// typed as a minus into '-'.
func halfWidth(s string) string {
	return clean(strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return r - '０' + '0'
		case r == '＋':
			return '+'
		case r == '－' || r == '−' || r == '–' || r == '‒':
			return '-'
		case r == '．':
			return '.'
		case r == '，':
			return ','
		case r == '　':
			return ' '
		case r == 'Ｘ' || r == 'ｘ':
			return r - 'Ｘ' + 'X'
		}
		return r
	}, s))
}

type numErr int

const (
	numOK        numErr = iota
	numNotNumber        // not a number at all
	numDecimal          // a number with a fractional part
	numRange            // a whole number beyond int64
)

var integerRe = regexp.MustCompile(`^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?$`)

// parseInteger reads a whole number written as people write one: an
// optional sign, thousands separators, trailing zeros after a decimal point
// ("120.00" from an export), one of the given unit suffixes; a number cell's
// raw value ("1.2E+3") is first written out in digits.
func parseInteger(s string, numeric bool, suffixes ...string) (int64, numErr) {
	s = halfWidth(s)
	if numeric {
		s = numberText(s)
	}
	for _, u := range suffixes {
		if t, ok := strings.CutSuffix(s, u); ok {
			s = strings.TrimSpace(t)
			break
		}
	}
	s = strings.ReplaceAll(s, " ", "")
	m := integerRe.FindStringSubmatch(s)
	if m == nil {
		if _, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "nNiI") {
			return 0, numDecimal // 1.5e3, .5
		}
		return 0, numNotNumber
	}
	if strings.Trim(m[3], "0") != "" {
		return 0, numDecimal
	}
	v, err := strconv.ParseInt(m[1]+strings.ReplaceAll(m[2], ",", ""), 10, 64)
	if err != nil {
		return 0, numRange
	}
	return v, numOK
}

// --- shared by ParseRules and ParseOpening ---

// withDefaults fills in the default limits.
func (o Options) withDefaults() Options {
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	return o
}

// recoverBadFile turns a panic of a third-party parser fed with uploaded
// bytes into the bad_file error, as Parse does.
func recoverBadFile(err *error) {
	if p := recover(); p != nil {
		*err = badFile("文件内容已损坏，无法读取", "The file is damaged and cannot be read", fmt.Errorf("panic: %v", p))
	}
}

// sheet is the table of an upload that holds the header, with its columns
// mapped to field keys.
type sheet struct {
	t        *table
	header   int               // sheet row of the header
	col      map[string]int    // field key -> column index
	colName  map[string]string // field key -> header text as in the file
	zh       map[string]string // field key -> standard Chinese column name
	warnings []string
}

// pickSheet finds the first table with a header row (among its first few
// rows) that isHeader accepts, and maps that header with keys; nil when no
// table has one.
func pickSheet(tables []*table, keys, zh map[string]string, isHeader func(map[string]bool) bool) *sheet {
	var s *sheet
	nonEmpty := 0
	for _, t := range tables {
		if len(t.rows) > 0 {
			nonEmpty++
		}
		if s != nil {
			continue
		}
		for i, sr := range t.rows {
			if i >= headerSearch {
				break
			}
			found := map[string]bool{}
			for _, c := range sr.cells {
				if k := keys[normHeader(c)]; k != "" {
					found[k] = true
				}
			}
			if isHeader(found) {
				s = &sheet{t: t, header: sr.n, zh: zh}
				break
			}
		}
	}
	if s == nil {
		return nil
	}
	if nonEmpty > 1 {
		s.warn("工作簿中有多个工作表，只导入了“%s”", s.t.name)
	}
	s.col, s.colName = map[string]int{}, map[string]string{}
	var unknown []string
	for _, sr := range s.t.rows {
		if sr.n != s.header {
			continue
		}
		for i, c := range sr.cells {
			text := clean(c)
			key := keys[normHeader(c)]
			switch {
			case text == "" || key == "-":
			case key == "":
				unknown = append(unknown, text)
			case s.colName[key] != "":
				s.warn("有两列都是“%s”，只读取了第一列（“%s”）", zh[key], s.colName[key])
			default:
				s.col[key], s.colName[key] = i, text
			}
		}
	}
	if len(unknown) > 0 {
		s.warn("已忽略无法识别的列：%s", strings.Join(unknown, "、"))
	}
	return s
}

func (s *sheet) warn(format string, args ...any) {
	s.warnings = append(s.warnings, fmt.Sprintf(format, args...))
}

// rows are the data rows under the header.
func (s *sheet) rows() []sheetRow {
	for i, sr := range s.t.rows {
		if sr.n > s.header {
			return s.t.rows[i:]
		}
	}
	return nil
}

// column is the header text of a field's column, or its standard name
// when the file has no such column.
func (s *sheet) column(key string) string {
	if c := s.colName[key]; c != "" {
		return c
	}
	return s.zh[key]
}

// cell returns the cleaned text of a field in this row, "" when absent.
func (s *sheet) cell(sr sheetRow, key string) string {
	i, ok := s.col[key]
	if !ok || i >= len(sr.cells) {
		return ""
	}
	return clean(sr.cells[i])
}

// text returns a cell that holds text which may look like a number (a
// code, a phone, a volunteer number): quoting undone, a number cell
// written out in digits.
func (s *sheet) text(sr sheetRow, key string) string {
	v := unquoteText(s.cell(sr, key))
	if s.numeric(sr, key) {
		v = numberText(v)
	}
	return v
}

// numeric reports whether the field's cell in this row is a number cell.
func (s *sheet) numeric(sr sheetRow, key string) bool {
	i, ok := s.col[key]
	return ok && s.t.numeric != nil && s.cell(sr, key) != "" && s.t.numeric(sr.n, i)
}

func (s *sheet) problem(sheetRow int, field, zh, en string) RowError {
	return RowError{Row: sheetRow - s.header, SheetRow: sheetRow, Column: s.column(field), Field: field, Reason: zh, ReasonEn: en}
}

func (s *sheet) check(sr sheetRow) *check { return &check{s: s, sr: sr} }

// check gathers the problems of one row, at most one per field: the first
// reason found for a field is the most specific one.
type check struct {
	s     *sheet
	sr    sheetRow
	errs  []RowError
	quiet []string // fields to neutralise without a problem of their own
}

func (c *check) add(field, zh, en string) { c.addAt(field, "", zh, en) }

// addAt is add for a problem found in another column than the field's.
func (c *check) addAt(field, column, zh, en string) {
	if c.has(field) {
		return
	}
	e := c.s.problem(c.sr.n, field, zh, en)
	if column != "" {
		e.Column = column
	}
	c.errs = append(c.errs, e)
}

func (c *check) neutral(field string) { c.quiet = append(c.quiet, field) }

func (c *check) has(field string) bool {
	for _, e := range c.errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

// fieldAt is a field of a sheet row.
type fieldAt struct {
	sheetRow int
	field    string
}

// badFields is the set of fields that have a problem: a value that is
// itself bad is not compared with the other rows.
func badFields(errs []RowError) map[fieldAt]bool {
	m := make(map[fieldAt]bool, len(errs))
	for _, e := range errs {
		m[fieldAt{e.SheetRow, e.Field}] = true
	}
	return m
}

// dupEntry is one row's value of a field that must be unique in the file.
type dupEntry struct {
	index    int // into the caller's rows
	sheetRow int
	value    string
}

// dupHit says that the row at index shares its value with the row at
// otherIndex (sheet row other).
type dupHit struct {
	index, otherIndex, other int
}

// markDuplicates finds every entry whose value another entry shares, and
// names the other row: the next one of the group, or the first for the
// last. The file alone cannot tell which is right, so all go back.
func markDuplicates(entries []dupEntry) []dupHit {
	groups := map[string][]dupEntry{}
	var order []string
	for _, e := range entries {
		if len(groups[e.value]) == 0 {
			order = append(order, e.value)
		}
		groups[e.value] = append(groups[e.value], e)
	}
	var hits []dupHit
	for _, v := range order {
		g := groups[v]
		if len(g) < 2 {
			continue
		}
		for i, e := range g {
			o := g[0]
			if i == 0 {
				o = g[1]
			}
			hits = append(hits, dupHit{index: e.index, otherIndex: o.index, other: o.sheetRow})
		}
	}
	return hits
}

// sortProblems puts the problems in row order, keeping each row's order.
func sortProblems(errs []RowError) {
	sort.SliceStable(errs, func(a, b int) bool { return errs[a].SheetRow < errs[b].SheetRow })
}
