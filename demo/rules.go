package demo

import "jifen"

// DemoRules is a rule catalogue (积分规则) as villages write them from their
// 村规民约, 文明诚信积分制 and 新时代文明实践志愿服务积分 practice: awards for
// service, a clean village, caring for the old, simple weddings and
// funerals, civility, learning; deductions for what the village rules
// forbid. Caps count quantities per person (events, hours or items);
// once-only honours have a life cap of 1; awards of 20 points or more and
// deductions of 10 or more wait for a reviewer; claims that can be shown
// with a photo need one. The built-in service_hours rule is not listed:
// verified service records earn through it at each activity's rate.
var DemoRules = []jifen.RuleInput{
	// 志愿服务
	{Code: "vol.activity", Name: "参加新时代文明实践志愿服务活动", Category: jifen.CatVolunteerService, Points: 2, Unit: jifen.PerHour, DailyCap: 8, NeedsEvidence: true},
	{Code: "vol.fire_patrol", Name: "护林防火巡逻", Category: jifen.CatVolunteerService, Points: 2, Unit: jifen.PerHour, DailyCap: 4, NeedsEvidence: true},
	{Code: "vol.flood", Name: "参加防汛抢险、抗旱救灾", Category: jifen.CatVolunteerService, Points: 5, Unit: jifen.PerHour, DailyCap: 8, NeedsEvidence: true, NeedsReview: true},
	{Code: "vol.cleanup", Name: "参加村庄环境义务清扫", Category: jifen.CatVolunteerService, Points: 2, Unit: jifen.PerHour, DailyCap: 4, NeedsEvidence: true},
	{Code: "vol.traffic", Name: "文明交通劝导", Category: jifen.CatVolunteerService, Points: 2, Unit: jifen.PerHour, DailyCap: 4, NeedsEvidence: true},
	{Code: "vol.left_behind", Name: "关爱留守儿童（辅导作业、陪伴）", Category: jifen.CatVolunteerService, Points: 2, Unit: jifen.PerHour, DailyCap: 3, NeedsEvidence: true},
	{Code: "vol.best", Name: "评为“优秀志愿者”", Category: jifen.CatVolunteerService, Points: 30, Unit: jifen.PerEvent, YearlyCap: 1, NeedsReview: true},

	// 环境卫生
	{Code: "env.frontage", Name: "门前三包达标", Category: jifen.CatEnvironment, Points: 2, Unit: jifen.PerEvent, DailyCap: 1, NeedsEvidence: true},
	{Code: "env.sorting", Name: "垃圾分类投放正确", Category: jifen.CatEnvironment, Points: 1, Unit: jifen.PerEvent, DailyCap: 1},
	{Code: "env.yard", Name: "庭院整洁（月度检查）", Category: jifen.CatEnvironment, Points: 3, Unit: jifen.PerEvent, MonthlyCap: 1, NeedsEvidence: true},
	{Code: "env.beautiful_yard", Name: "评为“美丽庭院”", Category: jifen.CatEnvironment, Points: 20, Unit: jifen.PerEvent, YearlyCap: 1, NeedsEvidence: true, NeedsReview: true},
	{Code: "env.tree", Name: "义务植树", Category: jifen.CatEnvironment, Points: 1, Unit: jifen.PerItem, YearlyCap: 30, NeedsEvidence: true},
	{Code: "env.clutter", Name: "乱堆乱放", Category: jifen.CatEnvironment, Points: -3, Unit: jifen.PerEvent, NeedsEvidence: true},
	{Code: "env.dumping", Name: "乱倒垃圾", Category: jifen.CatEnvironment, Points: -5, Unit: jifen.PerEvent, NeedsEvidence: true},
	{Code: "env.sewage", Name: "乱排生活污水", Category: jifen.CatEnvironment, Points: -5, Unit: jifen.PerEvent, NeedsEvidence: true},
	{Code: "env.livestock", Name: "畜禽散养污染村道", Category: jifen.CatEnvironment, Points: -3, Unit: jifen.PerEvent, NeedsEvidence: true},
	{Code: "env.straw_burning", Name: "焚烧秸秆", Category: jifen.CatEnvironment, Points: -10, Unit: jifen.PerEvent, NeedsEvidence: true, NeedsReview: true},

	// 孝老爱亲
	{Code: "filial.elders", Name: "孝敬老人（事迹经核实）", Category: jifen.CatFilialPiety, Points: 5, Unit: jifen.PerEvent, MonthlyCap: 1, NeedsReview: true},
	{Code: "filial.lonely_elderly", Name: "照顾孤寡老人", Category: jifen.CatFilialPiety, Points: 3, Unit: jifen.PerHour, DailyCap: 4, NeedsEvidence: true},
	{Code: "filial.good_daughter_in_law", Name: "评为“好媳妇”", Category: jifen.CatFilialPiety, Points: 30, Unit: jifen.PerEvent, LifeCap: 1, NeedsReview: true},
	{Code: "filial.good_mother_in_law", Name: "评为“好婆婆”", Category: jifen.CatFilialPiety, Points: 30, Unit: jifen.PerEvent, LifeCap: 1, NeedsReview: true},
	{Code: "filial.best_family", Name: "评为“最美家庭”", Category: jifen.CatFilialPiety, Points: 30, Unit: jifen.PerEvent, YearlyCap: 1, NeedsReview: true},
	{Code: "filial.neglect", Name: "不赡养老人", Category: jifen.CatFilialPiety, Points: -30, Unit: jifen.PerEvent, NeedsReview: true},
	{Code: "filial.domestic_violence", Name: "家庭暴力", Category: jifen.CatFilialPiety, Points: -30, Unit: jifen.PerEvent, NeedsReview: true},

	// 移风易俗
	{Code: "customs.wedding", Name: "婚事新办", Category: jifen.CatCustomsReform, Points: 10, Unit: jifen.PerEvent, YearlyCap: 1, NeedsEvidence: true, NeedsReview: true},
	{Code: "customs.funeral", Name: "丧事简办", Category: jifen.CatCustomsReform, Points: 10, Unit: jifen.PerEvent, YearlyCap: 1, NeedsEvidence: true, NeedsReview: true},
	{Code: "customs.simple_events", Name: "红白事简办（不超过规定桌数）", Category: jifen.CatCustomsReform, Points: 5, Unit: jifen.PerEvent, NeedsEvidence: true},
	{Code: "customs.no_bride_price", Name: "拒绝高价彩礼", Category: jifen.CatCustomsReform, Points: 20, Unit: jifen.PerEvent, LifeCap: 1, NeedsReview: true},
	{Code: "customs.pledge", Name: "签订移风易俗承诺书", Category: jifen.CatCustomsReform, Points: 2, Unit: jifen.PerEvent, LifeCap: 1},
	{Code: "customs.extravagance", Name: "大操大办", Category: jifen.CatCustomsReform, Points: -20, Unit: jifen.PerEvent, NeedsEvidence: true, NeedsReview: true},
	{Code: "customs.bride_price", Name: "索要高价彩礼", Category: jifen.CatCustomsReform, Points: -30, Unit: jifen.PerEvent, NeedsReview: true},
	{Code: "customs.superstition", Name: "搞封建迷信活动", Category: jifen.CatCustomsReform, Points: -10, Unit: jifen.PerEvent, NeedsReview: true},

	// 文明新风
	{Code: "civ.heroism", Name: "见义勇为", Category: jifen.CatCivility, Points: 50, Unit: jifen.PerEvent, NeedsEvidence: true, NeedsReview: true},
	{Code: "civ.lost_found", Name: "拾金不昧", Category: jifen.CatCivility, Points: 10, Unit: jifen.PerEvent, NeedsEvidence: true},
	{Code: "civ.blood", Name: "无偿献血", Category: jifen.CatCivility, Points: 20, Unit: jifen.PerEvent, YearlyCap: 2, NeedsEvidence: true, NeedsReview: true},
	{Code: "civ.donate_money", Name: "捐款（公益、助学、救灾）", Category: jifen.CatCivility, Points: 5, Unit: jifen.PerEvent, MonthlyCap: 2, NeedsEvidence: true},
	{Code: "civ.donate_goods", Name: "捐献物品", Category: jifen.CatCivility, Points: 1, Unit: jifen.PerItem, MonthlyCap: 20, NeedsEvidence: true},
	{Code: "civ.mediation", Name: "调解邻里纠纷", Category: jifen.CatCivility, Points: 5, Unit: jifen.PerEvent, MonthlyCap: 4, NeedsReview: true},
	{Code: "civ.model_household", Name: "评为“星级文明户”", Category: jifen.CatCivility, Points: 20, Unit: jifen.PerEvent, YearlyCap: 1, NeedsReview: true},
	{Code: "civ.quarrel", Name: "邻里纠纷中寻衅滋事", Category: jifen.CatCivility, Points: -10, Unit: jifen.PerEvent, NeedsReview: true},
	{Code: "civ.rumour", Name: "散布谣言", Category: jifen.CatCivility, Points: -10, Unit: jifen.PerEvent, NeedsReview: true},
	{Code: "civ.vandalism", Name: "破坏公共设施", Category: jifen.CatCivility, Points: -20, Unit: jifen.PerEvent, NeedsEvidence: true, NeedsReview: true},

	// 遵纪守法
	{Code: "law.crime_tip", Name: "提供线索协助破案", Category: jifen.CatLawAbiding, Points: 20, Unit: jifen.PerEvent, NeedsReview: true},
	{Code: "law.anti_fraud", Name: "参加反诈、普法宣传", Category: jifen.CatLawAbiding, Points: 2, Unit: jifen.PerEvent, MonthlyCap: 2, NeedsEvidence: true},
	{Code: "law.gambling", Name: "赌博", Category: jifen.CatLawAbiding, Points: -30, Unit: jifen.PerEvent, NeedsReview: true},
	{Code: "law.illegal_building", Name: "违规建房", Category: jifen.CatLawAbiding, Points: -30, Unit: jifen.PerEvent, NeedsEvidence: true, NeedsReview: true},
	{Code: "law.drunk_driving", Name: "酒驾", Category: jifen.CatLawAbiding, Points: -30, Unit: jifen.PerEvent, NeedsReview: true},

	// 学习提升
	{Code: "learn.night_school", Name: "参加农民夜校", Category: jifen.CatLearning, Points: 3, Unit: jifen.PerEvent, DailyCap: 1, MonthlyCap: 8},
	{Code: "learn.xuexi", Name: "学习强国当日积分达标", Category: jifen.CatLearning, Points: 1, Unit: jifen.PerEvent, DailyCap: 1, NeedsEvidence: true},
	{Code: "learn.lecture", Name: "参加道德讲堂、理论宣讲", Category: jifen.CatLearning, Points: 2, Unit: jifen.PerEvent, DailyCap: 1},
	{Code: "learn.skill_cert", Name: "参加技能培训并取得证书", Category: jifen.CatLearning, Points: 10, Unit: jifen.PerEvent, YearlyCap: 3, NeedsEvidence: true, NeedsReview: true},

	// 其他
	{Code: "other.village_meeting", Name: "参加村民会议", Category: jifen.CatOther, Points: 2, Unit: jifen.PerEvent, DailyCap: 1},
	{Code: "other.medical_insurance", Name: "按时缴纳城乡居民医保", Category: jifen.CatOther, Points: 5, Unit: jifen.PerEvent, YearlyCap: 1, NeedsEvidence: true},
	{Code: "other.enlistment", Name: "适龄青年应征入伍", Category: jifen.CatOther, Points: 50, Unit: jifen.PerEvent, LifeCap: 1, NeedsEvidence: true, NeedsReview: true},
}
