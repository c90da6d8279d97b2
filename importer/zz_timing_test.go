package importer

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"jifen"
)

func TestZZBig(t *testing.T) {
	f := excelize.NewFile()
	sw, _ := f.NewStreamWriter("Sheet1")
	sw.SetRow("A1", []any{"姓名", "性别", "手机号", "身份证号", "政治面貌", "所属组织", "出生日期"})
	for i := 0; i < 50000; i++ {
		first17 := fmt.Sprintf("41110219%02d%02d%02d%03d", 60+i%40, 1+i%12, 1+i%28, i%1000)
		id := first17 + string(jifen.IDCheckDigit(first17))
		row := []any{fmt.Sprintf("人%d", i), "男", fmt.Sprintf("139%08d", i), id, "群众", "新窑村志愿服务队", ""}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		sw.SetRow(cell, row)
	}
	sw.Flush()
	var buf bytes.Buffer
	f.WriteTo(&buf)
	st := time.Now()
	_, err := Parse(bytes.NewReader(buf.Bytes()), "a.xlsx", testOptions())
	t.Log(time.Since(st), err)
}
