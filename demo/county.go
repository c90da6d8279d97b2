package demo

import (
	"math/rand/v2"
	"time"
)

// County makes up the names and happenings of a generated county
// (`jifen demo --people N`): towns and villages named the way the Loess
// Plateau names them, people with the surnames of the 2020 census in
// about their proportions, and a year of village volunteer service that
// follows the calendar. Every draw comes from the caller's generator, so
// a seed gives the same county every time.
type County struct{}

// surnames are the commonest surnames with their share in thousandths
// (2020 census, rounded); the rest of the population is spread over a
// long tail of rarer ones.
var surnames = []struct {
	name string
	w    int
}{
	{"王", 71}, {"李", 70}, {"张", 67}, {"刘", 54}, {"陈", 45}, {"杨", 31}, {"黄", 26}, {"赵", 23}, {"吴", 20}, {"周", 19},
	{"徐", 17}, {"孙", 15}, {"马", 15}, {"朱", 14}, {"胡", 13}, {"郭", 12}, {"何", 12}, {"林", 11}, {"高", 11}, {"罗", 10},
	{"郑", 10}, {"梁", 9}, {"谢", 8}, {"宋", 8}, {"唐", 8}, {"许", 7}, {"韩", 7}, {"冯", 7}, {"邓", 7}, {"曹", 7},
	{"彭", 6}, {"曾", 6}, {"肖", 6}, {"田", 6}, {"董", 6}, {"袁", 5}, {"潘", 5}, {"于", 5}, {"蒋", 5}, {"蔡", 5},
	{"余", 5}, {"杜", 5}, {"叶", 4}, {"程", 4}, {"苏", 4}, {"魏", 4}, {"吕", 4}, {"丁", 4}, {"任", 4}, {"沈", 4},
	{"姚", 4}, {"卢", 3}, {"姜", 3}, {"崔", 3}, {"钟", 3}, {"谭", 3}, {"陆", 3}, {"汪", 3}, {"范", 3}, {"金", 3},
	{"石", 3}, {"廖", 3}, {"贾", 3}, {"夏", 3}, {"韦", 3}, {"付", 3}, {"方", 3}, {"白", 3}, {"邹", 3}, {"孟", 3},
	{"熊", 2}, {"秦", 2}, {"邱", 2}, {"江", 2}, {"尹", 2}, {"薛", 2}, {"闫", 2}, {"段", 2}, {"雷", 2}, {"侯", 2},
	{"龙", 2}, {"史", 2}, {"陶", 2}, {"黎", 2}, {"贺", 2}, {"顾", 2}, {"毛", 2}, {"郝", 2}, {"龚", 2}, {"邵", 2},
	{"万", 2}, {"钱", 2}, {"严", 2}, {"武", 2}, {"戴", 2}, {"莫", 2}, {"孔", 2}, {"常", 2}, {"汤", 2}, {"康", 2},
}

var surnameTotal = func() int {
	n := 0
	for _, s := range surnames {
		n += s.w
	}
	return n
}()

// Surname draws a surname by its share of the population.
func (County) Surname(r *rand.Rand) string {
	n := r.IntN(surnameTotal)
	for _, s := range surnames {
		if n < s.w {
			return s.name
		}
		n -= s.w
	}
	return surnames[0].name
}

// Given-name characters as parents chose them; most rural names of the
// older generations have two characters, a good share of younger ones one.
var (
	givenMale   = []rune("建国军伟强勇刚明平志海林华东文斌杰涛超鹏飞宏亮俊峰德胜福贵生喜成荣兴旺永忠红春新宝山立正安振家锦浩宇博睿轩泽")
	givenFemale = []rune("秀兰英桂芳玉梅娟丽霞凤琴珍燕红艳萍春花淑敏静婷雪慧莉娜丹彩云翠芬巧月香莲菊环雅欣怡涵悦琳萱")
)

// GivenName draws a given name of one or two characters; people born
// later more often have one.
func (County) GivenName(r *rand.Rand, female bool, birthYear int) string {
	pool := givenMale
	if female {
		pool = givenFemale
	}
	one := 0.12
	if birthYear >= 1990 {
		one = 0.3
	}
	if r.Float64() < one {
		return string(pool[r.IntN(len(pool))])
	}
	a, b := pool[r.IntN(len(pool))], pool[r.IntN(len(pool))]
	for b == a {
		b = pool[r.IntN(len(pool))]
	}
	return string([]rune{a, b})
}

var (
	townHeads = []string{"东", "西", "南", "北", "上", "下", "新", "高", "黄", "柳", "铜", "赤", "九", "木", "龙", "安", "泾", "汭", "白", "黑"}
	townTails = []string{"川", "塬", "河", "峰", "山", "关", "坪", "口", "城", "门", "源"}
	// Villages are named after a family, a landmark or the lie of the land.
	villageHeads = []string{"王家", "李家", "张家", "刘家", "杨家", "赵家", "马家", "何家", "郭家", "胡家", "周家", "韩家",
		"柳", "杏", "桃", "槐", "杨树", "枣", "松", "石", "红", "黄", "白", "青", "大", "小", "前", "后", "上", "下", "东", "西",
		"高", "庙", "寺", "堡子", "河", "泉", "井", "双", "三", "五", "十里", "新", "安", "丰", "太平", "平"}
	villageTails = []string{"沟", "湾", "庄", "坪", "塬", "河", "堡", "岔", "峪", "寨", "洼", "台", "咀", "梁", "坡", "店", "营", "川"}
)

// Town draws the name of a town (镇).
func (County) Town(r *rand.Rand) string {
	return townHeads[r.IntN(len(townHeads))] + townTails[r.IntN(len(townTails))] + "镇"
}

// Village draws the name of an administrative village (村).
func (County) Village(r *rand.Rand) string {
	return villageHeads[r.IntN(len(villageHeads))] + villageTails[r.IntN(len(villageTails))] + "村"
}

// activities are what village volunteer teams do, by category; seasonal
// ones come in their month.
var (
	everyMonth = [][2]string{
		{"环境整治", "村道环境整治"}, {"环境整治", "垃圾分类宣传入户"}, {"环境整治", "河道垃圾清理"},
		{"关爱老人", "空巢老人上门走访"}, {"关爱老人", "为高龄老人理发"}, {"关爱儿童", "关爱留守儿童·作业辅导"},
		{"文明交通", "文明交通劝导"}, {"法治宣传", "反电信诈骗宣传"}, {"医疗健康", "义诊进村"},
		{"理论宣讲", "新时代文明实践宣讲"}, {"社区服务", "便民服务日"}, {"文化体育", "广场舞排练"},
	}
	seasonal = map[time.Month][][2]string{
		time.January:   {{"关爱老人", "春节走访慰问困难群众"}, {"文化体育", "写春联送祝福"}},
		time.February:  {{"文化体育", "元宵节社火表演服务"}, {"应急救援", "春节期间防火巡查"}},
		time.March:     {{"社区服务", "学雷锋志愿服务"}, {"环境整治", "义务植树"}},
		time.April:     {{"文明交通", "清明文明祭扫劝导"}, {"应急救援", "春季护林防火巡逻"}},
		time.May:       {{"助农帮扶", "助农春耕"}, {"法治宣传", "防范非法集资宣传"}},
		time.June:      {{"关爱儿童", "防溺水安全教育"}, {"助农帮扶", "帮助困难户抢收小麦"}},
		time.July:      {{"应急救援", "防汛巡查"}, {"关爱老人", "夏送清凉"}},
		time.August:    {{"应急救援", "防汛抢险值守"}, {"关爱儿童", "暑期托管志愿服务"}},
		time.September: {{"助学支教", "开学季助学"}, {"助农帮扶", "苹果采摘帮扶"}},
		time.October:   {{"关爱老人", "重阳节敬老"}, {"助农帮扶", "秋收帮扶"}},
		time.November:  {{"应急救援", "冬季防火宣传"}, {"法治宣传", "宪法宣传日活动"}},
		time.December:  {{"关爱老人", "冬送温暖入户走访"}, {"社区服务", "清扫积雪"}},
	}
	places = []string{"村委会", "文化广场", "村小学", "主干道", "卫生室", "新时代文明实践站", "幸福院", "各组"}
)

// Activity draws what a village team does in a week of month: a seasonal
// activity one time in three, an all-year one otherwise.
func (County) Activity(r *rand.Rand, month time.Month) (category, title string) {
	if s := seasonal[month]; len(s) > 0 && r.IntN(3) == 0 {
		a := s[r.IntN(len(s))]
		return a[0], a[1]
	}
	a := everyMonth[r.IntN(len(everyMonth))]
	return a[0], a[1]
}

// Place draws where in the village an activity meets.
func (County) Place(r *rand.Rand, village string) string {
	return village + places[r.IntN(len(places))]
}

// StoreItems is the shelf of a village's points supermarket: everyday
// goods at the points villages price them at.
func (County) StoreItems() (names []string, points []int64) {
	return []string{"香皂", "酱油（500ml）", "牙膏", "毛巾", "挂面（2kg）", "洗衣粉（1kg）", "大米（5kg）", "食用油（5L）"},
		[]int64{5, 8, 8, 10, 15, 20, 50, 60}
}
