package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"

	"jifen"
)

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rulesOf(t *testing.T, data []byte, filename string) *Rules {
	t.Helper()
	r, err := ParseRules(bytes.NewReader(data), filename)
	if err != nil {
		t.Fatalf("ParseRules(%s): %v", filename, err)
	}
	return r
}

func rulesText(t *testing.T, text string) *Rules {
	t.Helper()
	return rulesOf(t, []byte(text), "rules.csv")
}

// sampleRules is what testdata/rules_sample.csv holds, as validated inputs.
func sampleRules() []jifen.RuleInput {
	return []jifen.RuleInput{
		{Code: "vol.activity", Name: "参加新时代文明实践志愿服务活动", Category: jifen.CatVolunteerService, Points: 2, Unit: jifen.PerHour,
			DailyCap: 4, NeedsEvidence: true, ValidFrom: "2026-01-01"},
		{Code: GeneratedRuleCode(jifen.CatEnvironment, "门前三包"), Name: "门前三包", Category: jifen.CatEnvironment, Points: 5, Unit: jifen.PerEvent,
			DailyCap: 1, NeedsEvidence: true, ValidFrom: "2026-01-01", ValidTo: "2026-12-31"},
		{Code: "env.sorting", Name: "垃圾分类投放正确", Category: jifen.CatEnvironment, Points: 1, Unit: jifen.PerEvent, DailyCap: 1, MonthlyCap: 20},
		{Code: GeneratedRuleCode(jifen.CatFilialPiety, "评为“好媳妇”"), Name: "评为“好媳妇”", Category: jifen.CatFilialPiety, Points: 20, Unit: jifen.PerEvent,
			LifeCap: 1, NeedsEvidence: true, NeedsReview: true},
		{Code: "env.dumping", Name: "乱倒垃圾", Category: jifen.CatEnvironment, Points: -5, Unit: jifen.PerEvent, NeedsEvidence: true},
		{Code: "customs.bride_price", Name: "高价彩礼", Category: jifen.CatCustomsReform, Points: -10, Unit: jifen.PerEvent, NeedsReview: true},
		{Code: GeneratedRuleCode(jifen.CatOther, "捐赠衣物"), Name: "捐赠衣物", Category: jifen.CatOther, Points: 1, Unit: jifen.PerItem,
			YearlyCap: 50, NeedsEvidence: true},
		{Code: "learn.night_school", Name: "参加农民夜校", Category: jifen.CatLearning, Points: 3, Unit: jifen.PerEvent, MonthlyCap: 4},
		{Code: "civ.heroism", Name: "见义勇为", Category: jifen.CatCivility, Points: 50, Unit: jifen.PerEvent, NeedsEvidence: true, NeedsReview: true},
		{Code: "law.gambling", Name: "赌博", Category: jifen.CatLawAbiding, Points: -20, Unit: jifen.PerEvent, NeedsReview: true},
	}
}

func TestSampleRulesCSVGivesTheCatalogue(t *testing.T) {
	r := rulesOf(t, testdata(t, "rules_sample.csv"), "rules_sample.csv")
	if len(r.Problems) != 0 || len(r.Warnings) != 0 {
		t.Fatalf("problems %+v warnings %q", r.Problems, r.Warnings)
	}
	if !reflect.DeepEqual(r.Items, sampleRules()) {
		t.Errorf("items:\n got %+v\nwant %+v", r.Items, sampleRules())
	}
	if r.Total != 10 || len(r.Rows) != 10 {
		t.Errorf("Total %d, rows %d, want 10", r.Total, len(r.Rows))
	}
	// A title row above the header and a blank line inside the data:
	// row numbers are those the spreadsheet shows.
	if row := r.Rows[0]; row.SheetRow != 3 || row.Row != 1 || row.CodeGenerated {
		t.Errorf("first row %+v", row)
	}
	if row := r.Rows[8]; row.SheetRow != 12 || row.Row != 10 || row.Input.Code != "civ.heroism" {
		t.Errorf("row after the blank line %+v", row)
	}
	if !r.Rows[1].CodeGenerated || !regexp.MustCompile(`^env-[0-9a-f]{6}$`).MatchString(r.Rows[1].Input.Code) {
		t.Errorf("generated code %q (generated %v), want env-xxxxxx", r.Rows[1].Input.Code, r.Rows[1].CodeGenerated)
	}
}

// xlsxFromCSV writes the CSV's cells into a workbook as a person typing
// them would get them: numbers as number cells, ISO dates as date cells.
func xlsxFromCSV(t *testing.T, data []byte) []byte {
	t.Helper()
	text, err := decodeText(data)
	if err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	for _, rec := range recs {
		var row []any
		for _, c := range rec {
			if n, err := strconv.ParseFloat(c, 64); err == nil && !strings.HasPrefix(c, "+") {
				row = append(row, n)
			} else if d, err := time.Parse("2006-01-02", c); err == nil {
				row = append(row, d)
			} else {
				row = append(row, c)
			}
		}
		rows = append(rows, row)
	}
	return xlsxFile(t, rows)
}

func TestRulesXLSXGivesTheSameCatalogueAsTheCSV(t *testing.T) {
	data := xlsxFromCSV(t, testdata(t, "rules_sample.csv"))
	r := rulesOf(t, data, "积分规则.xlsx")
	if len(r.Problems) != 0 {
		t.Fatalf("problems %+v", r.Problems)
	}
	if !reflect.DeepEqual(r.Items, sampleRules()) {
		t.Errorf("items:\n got %+v\nwant %+v", r.Items, sampleRules())
	}
	// The CSV skipped a blank line; the workbook made from its records
	// has none, so the last rows sit one higher.
	if r.Rows[9].SheetRow != 12 {
		t.Errorf("last row at sheet row %d, want 12", r.Rows[9].SheetRow)
	}
}

func TestRulesInGBKAndUTF16ParseLikeUTF8(t *testing.T) {
	utf := testdata(t, "rules_sample.csv")
	want := rulesOf(t, utf, "a.csv")
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(bytes.TrimPrefix(utf, []byte("\ufeff")))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(gbk, utf) {
		t.Fatal("GBK encoding changed nothing")
	}
	if got := rulesOf(t, gbk, "规则.csv"); !reflect.DeepEqual(got, want) {
		t.Errorf("GBK differs from UTF-8:\n got %+v\nwant %+v", got, want)
	}
	u16, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(bytes.ReplaceAll(utf, []byte(","), []byte("\t")))
	if err != nil {
		t.Fatal(err)
	}
	if got := rulesOf(t, u16, "规则.txt"); !reflect.DeepEqual(got, want) {
		t.Errorf("UTF-16 text differs from UTF-8:\n got %+v\nwant %+v", got, want)
	}
}

func TestRuleHeaderSynonymsWorkInAnyOrder(t *testing.T) {
	// Each column: its synonyms and its cell in the one data row.
	cols := []struct {
		headers []string
		cell    string
	}{
		{[]string{"编码", "规则编码", "代码", "code"}, "env.yard"},
		{[]string{"名称", "规则名称", "项目", "积分项目", "事项", "*名称"}, "美丽庭院"},
		{[]string{"类别", "分类", "类型", "类别（必填）"}, "环境卫生"},
		{[]string{"分值", "积分", "分数", "加减分", "分  值"}, "10"},
		{[]string{"单位", "计分单位"}, "每次"},
		{[]string{"每日上限", "日上限"}, "1"},
		{[]string{"每月上限", "月上限"}, "2"},
		{[]string{"每年上限", "年上限"}, "12"},
		{[]string{"需要照片", "需要佐证", "需佐证"}, "是"},
		{[]string{"需要审核", "需审核"}, "否"},
		{[]string{"生效日期", "开始日期"}, "2026-03-01"},
		{[]string{"截止日期", "失效日期"}, "2026-12-31"},
	}
	want := []jifen.RuleInput{{Code: "env.yard", Name: "美丽庭院", Category: jifen.CatEnvironment, Points: 10, Unit: jifen.PerEvent,
		DailyCap: 1, MonthlyCap: 2, YearlyCap: 12, NeedsEvidence: true, ValidFrom: "2026-03-01", ValidTo: "2026-12-31"}}
	rnd := rand.New(rand.NewPCG(4, 2))
	for round := range 20 {
		order := rnd.Perm(len(cols))
		var head, cells []string
		for _, i := range order {
			head = append(head, cols[i].headers[rnd.IntN(len(cols[i].headers))])
			cells = append(cells, cols[i].cell)
		}
		text := strings.Join(head, ",") + "\n" + strings.Join(cells, ",") + "\n"
		r := rulesText(t, text)
		if len(r.Problems) != 0 || len(r.Warnings) != 0 || !reflect.DeepEqual(r.Items, want) {
			t.Fatalf("round %d, file\n%s\nitems %+v\nproblems %+v\nwarnings %q", round, text, r.Items, r.Problems, r.Warnings)
		}
	}
}

func TestRulePointsTakeSignsPrefixesAndFullWidthDigits(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		unit jifen.RuleUnit
	}{
		{"5", 5, ""}, {"+5", 5, ""}, {"-10", -10, ""}, {"5分", 5, ""}, {"+5分", 5, ""}, {"-10分", -10, ""},
		{"扣10分", -10, ""}, {"扣10", -10, ""}, {"扣 10 分", -10, ""}, {"扣除3分", -3, ""}, {"减2分", -2, ""}, {"加5分", 5, ""},
		{"－１０", -10, ""}, {"＋５分", 5, ""}, {"扣－１０分", -10, ""}, {"−3", -3, ""}, {"10积分", 10, ""},
		{"2分/小时", 2, jifen.PerHour}, {"每次扣5分", -5, jifen.PerEvent}, {"1分/件", 1, jifen.PerItem},
	}
	for _, c := range cases {
		v, u, zh, _ := parsePoints(c.in, false)
		if zh != "" || v != c.want || u != c.unit {
			t.Errorf("parsePoints(%q) = %d, %q, %q; want %d, %q", c.in, v, u, zh, c.want, c.unit)
		}
	}
	for _, in := range []string{"2.5", "5-10", "五分", "扣", "加分", "1e3", "1.5分"} {
		if _, _, zh, en := parsePoints(in, false); zh == "" || en == "" {
			t.Errorf("parsePoints(%q) accepted", in)
		}
	}
	// End to end, with the unit from the points cell and a number cell.
	r := rulesText(t, "名称,分值,单位\n乱堆乱放,扣5分,\n志愿服务,2分/小时,\n捐物,1分/件,每件\n")
	if len(r.Problems) != 0 || r.Items[0].Points != -5 || r.Items[0].Unit != jifen.PerEvent ||
		r.Items[1].Points != 2 || r.Items[1].Unit != jifen.PerHour || r.Items[2].Unit != jifen.PerItem {
		t.Errorf("items %+v problems %+v", r.Items, r.Problems)
	}
	x := rulesOf(t, xlsxFile(t, [][]any{{"名称", "分值"}, {"酒驾", -30.0}, {"献血", 20.0}, {"半分", 0.5}}), "r.xlsx")
	if len(x.Items) != 2 || x.Items[0].Points != -30 || x.Items[1].Points != 20 {
		t.Errorf("number cells: items %+v", x.Items)
	}
	if len(x.Problems) != 1 || x.Problems[0].SheetRow != 4 || x.Problems[0].Field != "points" || !strings.Contains(x.Problems[0].Reason, "整数") {
		t.Errorf("0.5 in a number cell: problems %+v", x.Problems)
	}
}

func TestBadRuleRowsAreReportedWithTheirRowsAndColumns(t *testing.T) {
	r := rulesText(t, "村规民约积分表\n\n事项,类型,积分,计分单位,编码\n"+
		"门前三包,环境卫生,5,每次,env.front\n"+
		"乱倒垃圾,乱七八糟,-5,每次,env.dump\n"+
		"志愿服务,志愿服务,2,每天,vol.hour\n"+
		",孝老爱亲,10,,filial.care\n"+
		"拾金不昧,文明新风,0,,civ.found\n"+
		"无偿献血,文明新风,200000,,civ.blood\n"+
		"学习强国,学习提升,1,,学习 强国\n")
	type want struct {
		sheetRow int
		field    string
		column   string
		reason   string
	}
	wants := []want{
		{5, "category", "类型", "类别“乱七八糟”无法识别，应为志愿服务、环境卫生、孝老爱亲、移风易俗、文明新风、遵纪守法、学习提升、其他之一"},
		{6, "unit", "计分单位", "计分单位“每天”无法识别，应为每次、每小时或每件"},
		{7, "name", "事项", "名称不能为空"},
		{8, "points", "积分", "分值不能为零"},
		{9, "points", "积分", "分值应在-100000到100000之间"},
		{10, "code", "编码", "规则编码不能包含空格、引号、尖括号等符号"},
	}
	if len(r.Problems) != len(wants) {
		t.Fatalf("problems %+v", r.Problems)
	}
	for i, w := range wants {
		p := r.Problems[i]
		if p.SheetRow != w.sheetRow || p.Row != w.sheetRow-3 || p.Field != w.field || p.Column != w.column || p.Reason != w.reason || p.ReasonEn == "" {
			t.Errorf("problem %d = %+v, want %+v", i, p, w)
		}
	}
	if len(r.Items) != 1 || r.Items[0].Code != "env.front" || r.Total != 7 {
		t.Errorf("items %+v total %d", r.Items, r.Total)
	}
	if r.Rows[1].OK || !r.Rows[0].OK {
		t.Errorf("rows %+v", r.Rows)
	}
}

func TestARuleRowWithSeveralProblemsListsEachOfThem(t *testing.T) {
	r := rulesText(t, "编码,名称,类别,分值,单位,日上限,限一次,需佐证,生效日期,截止日期\n"+
		"a b,乱倒垃圾,外星,扣五分,每年,三次半,也许,可能,2026-02-30,2025-01-01\n")
	got := map[string]RowError{}
	for _, p := range r.Problems {
		got[p.Field] = p
	}
	for _, f := range []string{"code", "category", "points", "unit", "daily_cap", "life_cap", "needs_evidence", "valid_from"} {
		if p, ok := got[f]; !ok || p.Reason == "" || p.ReasonEn == "" || p.SheetRow != 2 {
			t.Errorf("no %s problem; problems %+v", f, r.Problems)
		}
	}
	if got["life_cap"].Column != "限一次" {
		t.Errorf("the 限一次 problem names column %q", got["life_cap"].Column)
	}
	if len(r.Problems) != 8 || len(r.Items) != 0 {
		t.Errorf("%d problems, want 8: %+v", len(r.Problems), r.Problems)
	}
	// The end date alone before the start is Validate's own complaint.
	r = rulesText(t, "名称,分值,生效日期,截止日期\n夜校,3,2026-06-01,2026-01-01\n")
	if len(r.Problems) != 1 || r.Problems[0].Field != "valid_to" || r.Problems[0].Reason != "截止日期不能早于开始日期" {
		t.Errorf("problems %+v", r.Problems)
	}
}

func TestDuplicateRuleCodesAreBadOnBothRows(t *testing.T) {
	r := rulesText(t, "编码,名称,分值\nenv.sorting,垃圾分类,1\nlaw.gamble,赌博,-20\nENV.sorting,垃圾分类（重复）,2\n")
	if len(r.Problems) != 2 || r.Problems[0].SheetRow != 2 || r.Problems[0].Reason != "与第4行规则编码重复" ||
		r.Problems[1].SheetRow != 4 || r.Problems[1].Reason != "与第2行规则编码重复" || r.Problems[1].ReasonEn != "Same code as row 2" ||
		r.Problems[0].Column != "编码" || r.Problems[0].Field != "code" {
		t.Errorf("problems %+v", r.Problems)
	}
	if len(r.Items) != 1 || r.Items[0].Code != "law.gamble" || r.Rows[0].OK || r.Rows[2].OK {
		t.Errorf("items %+v", r.Items)
	}
	// Two rows without a code and with the same category and name are the
	// same rule twice.
	r = rulesText(t, "名称,类别,分值\n门前三包,环境卫生,5\n门前 三包,环境卫生,3\n门前三包,文明新风,3\n")
	if len(r.Problems) != 2 || !strings.Contains(r.Problems[0].Reason, "与第3行规则编码重复（未填编码") ||
		r.Problems[0].Column != "规则编码" || len(r.Items) != 1 {
		t.Errorf("problems %+v items %+v", r.Problems, r.Items)
	}
}

func TestGeneratedCodesAreStableAcrossImports(t *testing.T) {
	first := rulesText(t, "名称,类别,分值\n门前三包,环境卫生,5\n孝敬老人,孝老爱亲,10\n赌博,遵纪守法,-20\n")
	// The same sheet a month later: rows moved, a row added above, points
	// changed, a category written another way, a column added.
	second := rulesText(t, "序号,分类,名称,分值,单位\n1,守法,赌博,-30,\n2,学习,参加夜校,3,\n3,孝老爱亲,孝敬老人,8,\n4,卫生,门前三包,5,每次\n")
	if len(first.Problems)+len(second.Problems) != 0 {
		t.Fatalf("problems %+v %+v", first.Problems, second.Problems)
	}
	codes := map[string]string{}
	for _, in := range first.Items {
		codes[in.Name] = in.Code
	}
	for _, in := range second.Items {
		if c, ok := codes[in.Name]; ok && c != in.Code {
			t.Errorf("%s: code %q, then %q", in.Name, c, in.Code)
		}
	}
	re := regexp.MustCompile(`^(env|filial|law|learn)-[0-9a-f]{6}$`)
	for _, in := range second.Items {
		if !re.MatchString(in.Code) {
			t.Errorf("code %q", in.Code)
		}
	}
	if codes["门前三包"] == codes["孝敬老人"] || !strings.HasPrefix(codes["孝敬老人"], "filial-") {
		t.Errorf("codes %v", codes)
	}
	if GeneratedRuleCode(jifen.CatEnvironment, "门前三包") != GeneratedRuleCode(jifen.CatEnvironment, " 门前 三包 ") {
		t.Error("spaces change the generated code")
	}
}

func TestRuleDatesInEveryCommonFormAndAsExcelSerials(t *testing.T) {
	for _, in := range []string{"2026-01-05", "2026/1/5", "2026.01.05", "20260105", "2026年1月5日", "2026-01-05 00:00:00", "２０２６－０１－０５"} {
		r := rulesText(t, "名称,分值,开始日期\n夜校,3,"+in+"\n")
		if len(r.Problems) != 0 || r.Items[0].ValidFrom != "2026-01-05" {
			t.Errorf("%q: items %+v problems %+v", in, r.Items, r.Problems)
		}
	}
	for _, in := range []string{"长期", "长期有效", "无", ""} {
		r := rulesText(t, "名称,分值,截止日期\n夜校,3,"+in+"\n")
		if len(r.Problems) != 0 || r.Items[0].ValidTo != "" {
			t.Errorf("%q: items %+v problems %+v", in, r.Items, r.Problems)
		}
	}
	r := rulesText(t, "名称,分值,开始日期,截止日期\n夜校,3,2026-01,明年\n党课,3,1999-01-01,\n")
	if len(r.Problems) != 3 {
		t.Fatalf("problems %+v", r.Problems)
	}
	if p := r.Problems[0]; p.Field != "valid_from" || p.Reason != "开始日期需写到日，如 2026-01-01" {
		t.Errorf("year-month: %+v", p)
	}
	if p := r.Problems[1]; p.Field != "valid_to" || p.Reason != "截止日期“明年”无法识别，请写成 2026-01-01 这样的格式" {
		t.Errorf("bad date: %+v", p)
	}
	if p := r.Problems[2]; p.SheetRow != 3 || p.Field != "valid_from" || !strings.Contains(p.Reason, "2026-01-01") {
		t.Errorf("year 1999: %+v", p)
	}
	// 46023 is 2026-01-01 as an Excel serial; a date cell is stored so.
	x := rulesOf(t, xlsxFile(t, [][]any{
		{"名称", "分值", "生效日期", "失效日期"},
		{"夜校", 3.0, 46023.0, time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)},
	}), "r.xlsx")
	if len(x.Problems) != 0 || x.Items[0].ValidFrom != "2026-01-01" || x.Items[0].ValidTo != "2026-12-31" {
		t.Errorf("serial dates: items %+v problems %+v", x.Items, x.Problems)
	}
}

func TestRuleCapsAndFlags(t *testing.T) {
	r := rulesText(t, "名称,分值,终身上限,限一次,日上限,年上限,需要照片,需要审核\n"+
		"评为好婆婆,20,,是,不限,,√,Y\n"+
		"入党,10,1,是,,,1,yes\n"+
		"垃圾分类,1,,否,一次,３６５次,×,N\n"+
		"捐款,5,,,,,否,0\n"+
		"冲突,5,3,是,,,,\n")
	want := []struct {
		life, daily, yearly int64
		ev, rev             bool
	}{{1, 0, 0, true, true}, {1, 0, 0, true, true}, {0, 1, 365, false, false}, {0, 0, 0, false, false}}
	if len(r.Items) != 4 {
		t.Fatalf("items %+v problems %+v", r.Items, r.Problems)
	}
	for i, w := range want {
		in := r.Items[i]
		if in.LifeCap != w.life || in.DailyCap != w.daily || in.YearlyCap != w.yearly || in.NeedsEvidence != w.ev || in.NeedsReview != w.rev {
			t.Errorf("row %d: %+v, want %+v", i+1, in, w)
		}
	}
	if len(r.Problems) != 1 || r.Problems[0].SheetRow != 6 || r.Problems[0].Field != "life_cap" || r.Problems[0].Column != "限一次" {
		t.Errorf("problems %+v", r.Problems)
	}
	r = rulesText(t, "名称,分值,月上限\n夜校,3,-1\n夜校2,3,2.5\n")
	if len(r.Problems) != 2 || r.Problems[0].Reason != "上限应为0（不限）到1000000之间的整数" || !strings.Contains(r.Problems[1].Reason, "应为整数") {
		t.Errorf("problems %+v", r.Problems)
	}
}

func TestRuleFilesThatAreNotCataloguesAreRefused(t *testing.T) {
	cases := []struct{ name, data, code string }{
		{"empty", "", "bad_file"},
		{"roster", "姓名,性别\n王芳,女\n", "missing_columns"},
		{"no points column", "名称,类别\n门前三包,环境卫生\n", "missing_columns"},
		{"header only", "名称,分值\n", "no_rows"},
		{"binary", "abc\x00\x01", "bad_file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseRules(strings.NewReader(c.data), "r.csv")
			checkBadFile(t, err, c.code)
		})
	}
	_, err := ParseRules(bytes.NewReader([]byte("PK\x03\x04broken")), "r.xlsx")
	checkBadFile(t, err, "bad_file")
}

func TestRuleFilesOverTheLimitsAreRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("名称,分值\n")
	for i := range 5 {
		b.WriteString("规则" + strconv.Itoa(i) + ",1\n")
	}
	_, err := parseRules(strings.NewReader(b.String()), "r.csv", Options{MaxRows: 4})
	checkBadFile(t, err, "too_many_rows")
	if _, err := parseRules(strings.NewReader(b.String()), "r.csv", Options{MaxRows: 5}); err != nil {
		t.Errorf("exactly MaxRows rows: %v", err)
	}
	_, err = parseRules(strings.NewReader(b.String()), "r.csv", Options{MaxBytes: 10})
	checkBadFile(t, err, "file_too_large")
	if _, err := ParseRules(bytes.NewReader(make([]byte, DefaultMaxBytes+1)), "r.csv"); err == nil {
		t.Error("a file over DefaultMaxBytes was read")
	}
}

func TestRuleWarningsNameIgnoredColumnsAndSheets(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	_ = f.SetSheetRow("Sheet1", "A1", &[]any{"名称", "分值", "说明", "积分"})
	_ = f.SetSheetRow("Sheet1", "A2", &[]any{"门前三包", 5, "每周检查", 7})
	_, _ = f.NewSheet("扣分项")
	_ = f.SetSheetRow("扣分项", "A1", &[]any{"名称", "分值"})
	_ = f.SetSheetRow("扣分项", "A2", &[]any{"乱倒垃圾", -5})
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	r := rulesOf(t, buf.Bytes(), "r.xlsx")
	if len(r.Items) != 1 || r.Items[0].Points != 5 {
		t.Errorf("items %+v", r.Items)
	}
	joined := strings.Join(r.Warnings, "\n")
	for _, w := range []string{"只导入了“Sheet1”", "说明", "有两列都是“分值”"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q, want one with %q", r.Warnings, w)
		}
	}
}

func TestACategoryCellMergedDownItsRulesAppliesToEach(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	_ = f.SetSheetRow("Sheet1", "A1", &[]any{"类别", "项目", "分值"})
	_ = f.SetSheetRow("Sheet1", "A2", &[]any{"移风易俗", "婚事新办", 10})
	_ = f.SetSheetRow("Sheet1", "A3", &[]any{nil, "丧事简办", 10})
	_ = f.SetSheetRow("Sheet1", "A4", &[]any{nil, "大操大办", "扣20分"})
	_ = f.SetSheetRow("Sheet1", "A5", &[]any{"遵纪守法", "赌博", -30})
	if err := f.MergeCell("Sheet1", "A2", "A4"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	r := rulesOf(t, buf.Bytes(), "r.xlsx")
	if len(r.Problems) != 0 || len(r.Items) != 4 {
		t.Fatalf("items %+v problems %+v", r.Items, r.Problems)
	}
	for i, want := range []jifen.RuleCategory{jifen.CatCustomsReform, jifen.CatCustomsReform, jifen.CatCustomsReform, jifen.CatLawAbiding} {
		if in := r.Items[i]; in.Category != want || !strings.HasPrefix(in.Code, categorySlugs[want]+"-") {
			t.Errorf("item %d: %+v, want category %s", i, in, want)
		}
	}
	if r.Items[2].Points != -20 {
		t.Errorf("扣20分 as text in a workbook: %d", r.Items[2].Points)
	}
}

// FuzzParseRulesNeverPanics: every outcome is a catalogue or a *jifen.Error.
func FuzzParseRulesNeverPanics(f *testing.F) {
	f.Add(testdata(f, "rules_sample.csv"), "a.csv")
	f.Add([]byte("名称,分值\n扣,－\n"), "a.csv")
	f.Add([]byte("PK\x03\x04garbage"), "a.xlsx")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		r, err := ParseRules(bytes.NewReader(data), name)
		if err == nil {
			if r == nil || r.Total != len(r.Rows) || len(r.Items) > r.Total {
				t.Fatalf("rules %+v", r)
			}
			for _, in := range r.Items {
				if err := in.Validate(); err != nil {
					t.Fatalf("item %+v: %v", in, err)
				}
			}
			return
		}
		var e *jifen.Error
		if !errors.As(err, &e) {
			t.Fatalf("not a *jifen.Error: %v", err)
		}
		if e.Err != nil && strings.HasPrefix(e.Err.Error(), "panic:") {
			t.Fatalf("recovered %v", e.Err)
		}
	})
}
